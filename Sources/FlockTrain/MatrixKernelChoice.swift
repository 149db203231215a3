import FlockNN
import FlockTensor

/// `matrix_kernels:` in a config: which library runs each Float32 matrix product (Dense,
/// attention). bf16 products always run on oneDNN.
public enum MatrixKernelChoice: String, ConfigChoice, SettableValue {
    /// A rule of the product's shape (`MatrixProductRule.bySize`): oneDNN where it won by
    /// measurement here, OpenBLAS for thin products; the same on every run (the default).
    case auto
    /// Rank 0 times both libraries on each shape of the model's step at start-up and
    /// broadcasts the winners (`state.json` records them, a resume keeps them): the
    /// fastest here and now, but two runs of one config may choose differently under a
    /// changing load, and then differ in their last bits — as PyTorch's
    /// `cudnn.benchmark`, which is off by default for the same reason.
    case timed
    /// OpenBLAS `sgemm` throughout (Flock before oneDNN).
    case openblas
    /// oneDNN's matmul for every product it can run.
    case onednn
}
