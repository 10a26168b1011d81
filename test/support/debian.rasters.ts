/** The Debian-package rasters (fetched at run time): shared with the benchmarks, so they live in scripts/. */
export * from '../../scripts/debian.rasters.js';
