"""RBMs in reciprocal space (Toledo-Marin et al., arXiv:2503.21536 (2025)).

Quick tour::

    import boltzlab as bl
    r = bl.reciprocal.analyze(model)                 # r.singular_values (descending), r.mp_ks, r.mp (the MP law)
    t = bl.reciprocal.reciprocal_transform(model)    # SVD, a0, b0, saddle points, per-mode energies (eq. 14-19)
    t.mode_energies(v, h).sum(-1) + t.constant       # == model.energy(v, h)
    bl.reciprocal.rotation_test(t).js                # Fig. 4: Jensen-Shannon divergence of W before/after rotations
    f = bl.reciprocal.mode_free_energy(t, 0, "u")    # eq. 55 for the leading mode; f.to_dict() has its minima
    bl.reciprocal.kurtosis_vs_hidden(784, [500, 784, 1200])   # Fig. 3e
    bl.reciprocal.hierarchy_images(model)            # Fig. 6
    bl.reciprocal.saddle_point(model, beta)          # eq. 26: the saddle point of Z in reciprocal space
    bl.reciprocal.mode_dynamics(model, beta)         # eq. 29-48: Fokker-Planck rates, non-converging modes

Command line: ``boltzlab reciprocal --help``; the paper's figures: ``boltzlab reproduce --list``; the replica
study of Fig. 1: ``boltzlab reciprocal replicas`` (:mod:`boltzlab.studies.pipelines.replica`).
"""

from .analysis import ReciprocalAnalysis, analyze
from .fokker_planck import ModeDynamics, SaddlePoint, fokker_planck_spectrum, mode_dynamics, saddle_point
from .hierarchy import hierarchy_images
from .landau import ModeFreeEnergy, mode_free_energy, project_mode
from .spectrum import MarchenkoPastur, weight_sigma
from .statistics import compare_to_reference, exact_kurtosis, haar_kurtosis, kurtosis_vs_hidden
from .symmetry import RotationTest, js_divergence, rotated_weights, rotation_test
from .transform import ReciprocalTransform, reciprocal_transform

__all__ = ["analyze", "ReciprocalAnalysis", "reciprocal_transform", "ReciprocalTransform", "MarchenkoPastur",
           "weight_sigma", "rotation_test", "RotationTest", "rotated_weights", "js_divergence",
           "mode_free_energy", "ModeFreeEnergy", "project_mode", "compare_to_reference", "exact_kurtosis",
           "haar_kurtosis", "kurtosis_vs_hidden", "hierarchy_images", "saddle_point", "SaddlePoint", "mode_dynamics",
           "ModeDynamics", "fokker_planck_spectrum"]
