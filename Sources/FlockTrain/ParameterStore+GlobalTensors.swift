import FlockParallel
import FlockTensor

extension ParameterStore {
    /// Sets the parameters and buffers named in `names` from `global`, each cut to where
    /// this store's part of it lies (`placement(name, local shape)`); the others keep
    /// their values. Reads only those parts.
    func restore(_ names: Set<String>, from global: GlobalTensors, source: String,
                 placement: (String, [Int]) -> ShardPlacement) throws {
        for slot in slots where names.contains(slot.name) {
            let values = try global.extract(slot.name, placement: placement(slot.name, slot.shape), source: source)
            withParameter(slot) { _ = $0.update(fromContentsOf: values) }
        }
        for slot in bufferSlots where names.contains(slot.name) {
            let values = try global.extract(slot.name, placement: placement(slot.name, slot.shape), source: source)
            withBuffer(slot) { _ = $0.update(fromContentsOf: values) }
        }
    }
}
