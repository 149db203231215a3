#if canImport(Glibc)
import Glibc
#endif

/// Keeps the memory a training step frees for the next step instead of returning it to
/// the system.
///
/// A step allocates and frees the same large buffers every time (im2col matrices,
/// activations, gradients: megabytes each). With glibc's defaults those come from fresh
/// `mmap`s or a heap that is trimmed after each free, so every step pays page faults to
/// zero new pages again — measured at 60% of a small CNN's step. Raising the mmap
/// threshold to its maximum (32 MiB) and the trim threshold to 1 GiB makes freed blocks
/// reusable; the process keeps its peak footprint, as caching allocators do.
public enum MemoryTuning {
    /// Applies the tuning once per process (later calls do nothing): at start-up of the
    /// `flock` commands that compute, and in `Trainer.init` for library users.
    public static func retainFreedMemory() {
        _ = applied
    }

    private static let applied: Bool = {
        #if canImport(Glibc)
        // mallopt is declared in <malloc.h>, which the Glibc module does not export: look it
        // up. Option numbers from <malloc.h>: M_TRIM_THRESHOLD −1, M_MMAP_THRESHOLD −3.
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "mallopt") else { return false }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let mmapThreshold: Int32 = 32 << 20, trimThreshold: Int32 = 1 << 30
        return mallopt(-3, mmapThreshold) == 1 && mallopt(-1, trimThreshold) == 1
        #else
        return false
        #endif
    }()
}
