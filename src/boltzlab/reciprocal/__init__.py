"""RBMs in reciprocal space (Toledo-Marin et al., arXiv:2503.21536 (2025)): the singular-value spectrum
against Marchenko-Pastur (:func:`analyze`, eq. 20), the reciprocal transform and per-mode energies
(:func:`reciprocal_transform`, eq. 14-19), rotational symmetry (:func:`rotation_test`, Fig. 4), statistics of
reciprocal variables (eq. 51, Fig. 3e), hierarchical learning (:func:`hierarchy_images`, Fig. 6), the
saddle point and Fokker-Planck mode dynamics (:func:`saddle_point`, :func:`mode_dynamics`, eq. 21-48) and
the mean-field free energy of a mode (:func:`mode_free_energy`, eq. 52-55).  The paper's figures:
``boltzlab reproduce --list``; the replica study of Fig. 1: :mod:`boltzlab.studies.pipelines.replica`.
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
