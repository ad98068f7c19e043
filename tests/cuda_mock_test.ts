// The CUDA backend's TypeScript on a host-memory stand-in GPU (tests/cuda_mock.ts):
// every test of tests/cuda_test.ts, on any machine. The stand-in runs the CPU
// kernels, so this checks the plumbing and the memory accounting, not the GPU
// kernels (tests/cuda_test.ts on a real GPU does that).
import "./cuda_mock.ts";
import "./cuda_test.ts";
