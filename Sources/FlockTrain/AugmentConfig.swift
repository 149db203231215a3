import FlockData
import FlockNN

/// `data.augment:` — random transforms of training samples (never of validation data):
/// `{horizontal_flip: true, vertical_flip: false, crop_padding: 1, noise: 0.05, mixup: 0.2}`.
/// Flips and crops need image features (`data.shape: [C, H, W]`); mixup (its α) needs
/// the cross-entropy loss without class weights.
public struct AugmentConfig: Codable, Equatable, Sendable {
    public var horizontalFlip: Bool
    public var verticalFlip: Bool
    public var cropPadding: Int
    public var noise: Double
    public var mixup: Double

    enum CodingKeys: String, CodingKey, CaseIterable {
        case noise, mixup
        case horizontalFlip = "horizontal_flip"
        case verticalFlip = "vertical_flip"
        case cropPadding = "crop_padding"
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        horizontalFlip = try c.value(.horizontalFlip, or: false)
        verticalFlip = try c.value(.verticalFlip, or: false)
        cropPadding = try c.value(.cropPadding, or: 0)
        noise = try c.value(.noise, or: 0)
        mixup = try c.value(.mixup, or: 0)
        // As Floats: mixup's Beta(α, α) sampler never returns for an infinite α.
        try Check.nonNegative(float: mixup, decoder.fieldPath(CodingKeys.mixup))
        try Check.nonNegative(cropPadding, decoder.fieldPath(CodingKeys.cropPadding))
        try Check.nonNegative(float: noise, decoder.fieldPath(CodingKeys.noise))
    }

    /// The transforms, checked against the per-sample feature shape (errors at `path`).
    func augmentation(featureShape: [Int], loss: LossConfig, path: String) throws -> Augmentation {
        let augmentation = Augmentation(horizontalFlip: horizontalFlip, verticalFlip: verticalFlip,
                                        cropPadding: cropPadding, noise: Float(noise), mixup: Float(mixup))
        let weighted = loss.terms.contains { $0.kind.classWeightCount != nil }
        let mixable = loss.isClassification
            && loss.terms.allSatisfy { $0.target != .targets || $0.kind.acceptsClassDistributions } && !weighted
        if mixup > 0 && !mixable {
            throw ConfigError(path: "\(path).mixup", "mixup needs the cross_entropy loss without class_weights, got loss '\(loss.name)'\(weighted ? " with class_weights" : "")")
        }
        if augmentation.needsImages && featureShape.count != 3 {
            throw ConfigError(path: path, "flips and crops need image features (channels, height, width), got per-sample shape \(featureShape) (set data.shape)")
        }
        return augmentation
    }
}
