"""Imported first, and only, by the scope forkserver (multiprocessing preload), before numpy loads.

BLAS/OpenMP libraries start their thread pools when they load; a pool in the forkserver would be
copied into every forked job without its threads, and a job's first large matrix product could
then hang. One thread per worker is the policy anyway (RELIABILITY R7, 2 cores), so the server
starts single-threaded. Nothing else imports this module.
"""

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
              "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_name] = "1"
