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
            for j in 0..<count where j != i {
                var sum: Float = 1e-12
                for k in 0..<width {
                    let difference = embeddings[i * width + k] - embeddings[j * width + k]
                    sum += difference * difference
                }
                result[i * count + j] = sum.squareRoot()
            }
        }
        return result
    }

    /// The mined triplets (anchor, positive, negative).
    func triplets(_ d: [Float], mining: TripletLoss.Mining) -> [(Int, Int, Int)] {
        var result: [(Int, Int, Int)] = []
        for a in 0..<count {
            let positives = (0..<count).filter { $0 != a && labels[$0] == labels[a] }
            let negatives = (0..<count).filter { labels[$0] != labels[a] }
            guard !positives.isEmpty, let farthestNegative = negatives.max(by: { d[a * count + $0] < d[a * count + $1] }) else { continue }
            let nearestNegative = negatives.min { d[a * count + $0] < d[a * count + $1] }!
            switch mining {
            case .hard:
                result.append((a, positives.max { d[a * count + $0] < d[a * count + $1] }!, nearestNegative))
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
        let d = distances()
        let mined = triplets(d, mining: mining)
        var gradient = [Float](repeating: 0, count: embeddings.count), total: Float = 0
        let weight = 1 / Float(max(mined.count, 1))
        for (a, p, n) in mined {
            let hinge = d[a * count + p] - d[a * count + n] + margin
            guard hinge > 0 else { continue }
            total += hinge
            for k in 0..<width {
                let towardPositive = (embeddings[a * width + k] - embeddings[p * width + k]) / d[a * count + p]
                let towardNegative = (embeddings[a * width + k] - embeddings[n * width + k]) / d[a * count + n]
                gradient[a * width + k] += weight * (towardPositive - towardNegative)
                gradient[p * width + k] -= weight * towardPositive
                gradient[n * width + k] += weight * towardNegative
            }
        }
        return (total * weight, gradient)
    }
}
