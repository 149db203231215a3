import FlockTensor
import Testing
@testable import FlockData

@Suite struct FoldTests {
    @Test(arguments: [(10, 2), (10, 3), (7, 7), (1797, 5)])
    func foldsPartitionTheSamples(count: Int, k: Int) {
        let dataset = Dataset(features: Tensor(shape: [count, 1], scalars: (0..<count).map(Float.init)),
                              targets: Tensor(shape: [count], scalars: [Float](repeating: 0, count: count)))
        let folds = dataset.foldIndices(k, seed: 4)
        #expect(folds.count == k)
        #expect(folds.flatMap { $0 }.sorted() == Array(0..<count), "every sample in exactly one fold")
        let sizes = folds.map(\.count)
        #expect(sizes.max()! - sizes.min()! <= 1, "\(sizes)")
        // Each run's training and validation split the data between them.
        for fold in 0..<k {
            let (training, validation) = dataset.split(fold: fold, of: k, seed: 4)
            #expect(training.count + validation.count == count)
            #expect(Set(training.features.scalars).isDisjoint(with: validation.features.scalars))
            #expect(validation.features.scalars == folds[fold].map(Float.init))
        }
    }
}
