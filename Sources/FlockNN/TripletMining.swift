/// The triplets of a batch of labelled embeddings and their loss, in plain loops: (G, D)
/// `embeddings`, (G) `labels`.
struct TripletMining {
    let embeddings: [Float]
    let labels: [Float]
    let width: Int

    var count: Int { labels.count }

    /// (G, G) euclidean distances, 1e-12 under the root.
    func distances() -> [Float] {
        var result = [Float](repeating: 0, count: count * count)
        for i in 0..<count {
            for j in 0..<count where j != i { result[i * count + j] = distance(i, j) }
        }
        return result
    }

    /// The euclidean distance of embeddings i and j, 1e-12 under the root.
    func distance(_ i: Int, _ j: Int) -> Float {
        var sum: Float = 1e-12
        for k in 0..<width {
            let difference = embeddings[i * width + k] - embeddings[j * width + k]
            sum += difference * difference
        }
        return sum.squareRoot()
    }

    /// The mined triplets (anchor, positive, negative).
    func triplets(_ d: [Float], mining: TripletLoss.Mining) -> [(Int, Int, Int)] {
        // Given: embeddings 3t, 3t + 1, 3t + 2 are triplet t's anchor, positive and negative.
        if mining == .given { return (0..<(count / 3)).map { (3 * $0, 3 * $0 + 1, 3 * $0 + 2) } }
        var result: [(Int, Int, Int)] = []
        for a in 0..<count {
            let positives = (0..<count).filter { $0 != a && labels[$0] == labels[a] }
            let negatives = (0..<count).filter { labels[$0] != labels[a] }
            guard !positives.isEmpty, let farthestNegative = negatives.max(by: { d[a * count + $0] < d[a * count + $1] }) else { continue }
            let nearestNegative = negatives.min { d[a * count + $0] < d[a * count + $1] }!
            switch mining {
            case .hard:
                result.append((a, positives.max { d[a * count + $0] < d[a * count + $1] }!, nearestNegative))
            case .given:
                break   // returned above
            case .semiHard:
                for p in positives {
                    let farther = negatives.filter { d[a * count + $0] > d[a * count + p] }
                    result.append((a, p, farther.min { d[a * count + $0] < d[a * count + $1] } ?? farthestNegative))
                }
            }
        }
        return result
    }

    /// The mean hinge over the mined triplets and its gradient with respect to every
    /// embedding, (G, D).
    func loss(margin: Float, mining: TripletLoss.Mining) -> (value: Float, gradient: [Float]) {
        // Given triplets need three distances each, not all G².
        let d = mining == .given ? [] : distances()
        let distance = { (i: Int, j: Int) in d.isEmpty ? self.distance(i, j) : d[i * self.count + j] }
        let mined = triplets(d, mining: mining)
        var gradient = [Float](repeating: 0, count: embeddings.count), total: Float = 0
        let weight = 1 / Float(max(mined.count, 1))
        for (a, p, n) in mined {
            let (positive, negative) = (distance(a, p), distance(a, n))
            let hinge = positive - negative + margin
            guard hinge > 0 else { continue }
            total += hinge
            for k in 0..<width {
                let towardPositive = (embeddings[a * width + k] - embeddings[p * width + k]) / positive
                let towardNegative = (embeddings[a * width + k] - embeddings[n * width + k]) / negative
                gradient[a * width + k] += weight * (towardPositive - towardNegative)
                gradient[p * width + k] -= weight * towardPositive
                gradient[n * width + k] += weight * towardNegative
            }
        }
        return (total * weight, gradient)
    }
}
