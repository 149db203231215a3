/// `data.augment:` — random transforms of training samples (never of validation data):
/// `{horizontal_flip: true, vertical_flip: false, crop_padding: 1, noise: 0.05}`. Flips
/// and crops need image features (`data.shape: [C, H, W]`).
public struct AugmentConfig: Codable, Equatable, Sendable {
    public var horizontalFlip: Bool
    public var verticalFlip: Bool
    public var cropPadding: Int
    public var noise: Double

    enum CodingKeys: String, CodingKey, CaseIterable {
        case noise
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
        try Check.nonNegative(cropPadding, decoder.fieldPath(CodingKeys.cropPadding))
        try Check.nonNegative(noise, decoder.fieldPath(CodingKeys.noise))
    }

    /// The transforms, checked against the per-sample feature shape (errors at `path`).
    func augmentation(featureShape: [Int], path: String) throws -> Augmentation {
        let augmentation = Augmentation(horizontalFlip: horizontalFlip, verticalFlip: verticalFlip,
                                        cropPadding: cropPadding, noise: Float(noise))
        if augmentation.needsImages && featureShape.count != 3 {
            throw ConfigError(path: path, "flips and crops need image features (channels, height, width), got per-sample shape \(featureShape) (set data.shape)")
        }
        return augmentation
    }
}
