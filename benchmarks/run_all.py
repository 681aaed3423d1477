"""`make bench`: run every benchmark and write a JSON and a Markdown table of figures and ratios.

CPU benchmarks always run (against the peers in this environment); where a CUDA device is present the
block-Gibbs benchmark runs on it too, at 10^5 chains.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import ais_accuracy  # noqa: E402
import ais_vs_rbms  # noqa: E402
import gibbs_throughput  # noqa: E402
import mnist_vs_sklearn  # noqa: E402
import pcd_vs_rbms  # noqa: E402
import potts_vs_rbms  # noqa: E402
import replicas_throughput  # noqa: E402
import reweighting_scale  # noqa: E402
import vmc_vs_netket  # noqa: E402
import torch  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="benchmarks/results")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = {"machine": platform.platform(),
               "gibbs": gibbs_throughput.main(["--out", str(out / "gibbs.json")]),
               "gibbs_gaussian": gibbs_throughput.main(["--visible", "gaussian",
                                                        "--out", str(out / "gibbs_gaussian.json")]),
               "mnist_vs_sklearn": mnist_vs_sklearn.main(["--out", str(out / "mnist_vs_sklearn.json")]),
               "ais_vs_rbms": ais_vs_rbms.main(["--model", str(out / "mnist-784x500.pt"), "--repeats", "3",
                                                "--out", str(out / "ais_vs_rbms.json")]),
               "pcd_vs_rbms": pcd_vs_rbms.main(["--out", str(out / "pcd_vs_rbms.json")]),
               "ais_accuracy": ais_accuracy.main(["--seeds", "5", "--out", str(out / "ais_accuracy.json")]),
               "replicas": replicas_throughput.main(["--out", str(out / "replicas.json")]),
               "potts_vs_rbms": potts_vs_rbms.main(["--out", str(out / "potts_vs_rbms.json")]),
               "reweighting": reweighting_scale.main(["--sizes", "2000,10000", "--out", str(out / "reweighting.json")]),
               "vmc_vs_netket": vmc_vs_netket.main(["--iterations", "600", "--lr", "0.1", "--lr-final", "0.002",
                                                    "--out", str(out / "vmc_vs_netket.json")])}
    if torch.cuda.is_available():
        results["gibbs_cuda"] = gibbs_throughput.main(["--device", "cuda", "--chains", "100000", "--sweeps", "50",
                                                       "--no-peer", "--out", str(out / "gibbs_cuda.json")])
    (out / "all.json").write_text(json.dumps(results, indent=2))
    g, m, a, p = results["gibbs"], results["mnist_vs_sklearn"], results["ais_vs_rbms"], results["pcd_vs_rbms"]
    rows = ["| benchmark | boltzlab | peer | ratio |", "| --- | --- | --- | --- |",
            f"| block Gibbs 784x500, {g['chains']} chains (sweeps/s) | {g['sweeps_per_second']['boltzlab']:.1f} "
            f"| rbms {g['sweeps_per_second'].get('rbms', float('nan')):.1f} "
            f"| {g.get('speedup_vs_rbms', float('nan')):.2f}x |",
            f"| fraction of the two-matmul floor | {g['ratio_to_floor']['boltzlab']:.3f} "
            f"| rbms {g['ratio_to_floor'].get('rbms', float('nan')):.3f} | |",
            f"| Gaussian-binary block Gibbs 784x500, fraction of the floor "
            f"| {results['gibbs_gaussian']['ratio_to_floor']['boltzlab']:.3f} | (no peer) | |",
            f"| PCD-{p['k']} update 784x500, {p['chains']} chains, batch {p['batch_size']} (s) "
            f"| {p['seconds_per_update']['boltzlab']:.3f} | rbms {p['seconds_per_update']['rbms']:.3f} "
            f"| {p['speedup_vs_rbms']:.2f}x |",
            f"| PCD update, fraction of the matrix-product floor | {p['fraction_of_floor']['boltzlab']:.3f} "
            f"| rbms {p['fraction_of_floor']['rbms']:.3f} | |",
            f"| MNIST held-out exact LL, 16 hidden, {m['updates']} updates (nats) "
            f"| {m['boltzlab']['held_out_log_likelihood']:.2f} | sklearn {m['sklearn']['held_out_log_likelihood']:.2f} "
            f"| {m['difference_nats']:+.2f} nats |",
            f"| AIS 784x500, {a['runs']} runs x {a['betas']} betas (s) "
            f"| {a['results']['boltzlab_same_protocol']['seconds_mean']:.1f} "
            f"| rbms {a['results']['rbms']['seconds_mean']:.1f} | {a['speedup_vs_rbms_same_protocol']:.2f}x |",
            f"| AIS ln Z, same protocol (nats) | {a['results']['boltzlab_same_protocol']['log_z_mean']:.2f} "
            f"| rbms {a['results']['rbms']['log_z_mean']:.2f} | {a['log_z_difference_vs_rbms']:+.2f} |"]
    if "gibbs_cuda" in results:
        c = results["gibbs_cuda"]
        rows.append(f"| block Gibbs 784x500 on {c['device_name']}, {c['chains']} chains (sweeps/s) "
                    f"| {c['sweeps_per_second']['boltzlab']:.1f} | floor {c['sweeps_per_second']['floor']:.1f} "
                    f"| {c['ratio_to_floor']['boltzlab']:.2f} of floor |")
    rp, pv, vm = results["replicas"], results["potts_vs_rbms"]["results"], results["vmc_vs_netket"]
    rows += [f"| {rp['replicas']} replicas {rp['shape'][0]}x{rp['shape'][1]} batched vs separate (s) "
             f"| {rp['seconds']['batched']:.3f} | separate {rp['seconds']['separate']:.3f} | {rp['speedup_batched']:.2f}x |",
             f"| Potts-binary RBM, PCD update (ms) | {pv['boltzlab']['ms_per_update_median']:.1f} "
             f"| rbms {pv['rbms']['ms_per_update_median']:.1f} "
             f"| {pv['rbms']['ms_per_update_median'] / pv['boltzlab']['ms_per_update_median']:.2f}x |",
             f"| Potts-binary RBM, held-out exact LL (nats) | {pv['boltzlab']['held_out_log_likelihood_mean']:.3f} "
             f"| rbms {pv['rbms']['held_out_log_likelihood_mean']:.3f} | |",
             f"| TFIM 16 sites VMC+SR, ms/iteration | {1e3 * vm['boltzlab']['seconds_per_iteration']:.1f} "
             f"| NetKet {1e3 * vm['netket']['seconds_per_iteration']:.1f} | {vm['speedup_boltzlab_over_netket']:.2f}x |",
             f"| TFIM 16 sites, relative error of the final state | {vm['boltzlab']['relative_error']:.2e} "
             f"| NetKet {vm['netket']['relative_error']:.2e} | |"]
    for r in results["ais_accuracy"]["results"]:
        rows.append(f"| AIS - exact ln Z, {r['model']} (nats) | mean {r['ais_mean_error']:+.3f}, "
                    f"max {r['ais_max_abs_error']:.3f}, {r['ais_within_3_stderr']:.0%} within 3 se | | |")
    (out / "results.md").write_text("\n".join(rows) + "\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
