import FlockNN

/// The closed choices of the `data:` section: each decodes with an error that names the
/// field and lists the allowed values (`data.sampling: unknown value 'even' (expected one
/// of: uniform, balanced)`).
extension DataConfig {
    /// How the data is stored.
    public enum Format: String, ConfigChoice {
        case csv, idx
    }

    /// How the features are scaled, fitted on the training split.
    public enum Normalization: String, ConfigChoice {
        case standard, minmax, none
    }

    /// How regression targets are scaled (undone in metrics and predictions).
    public enum TargetNormalization: String, ConfigChoice {
        case standard, none
    }

    /// How each epoch draws its samples.
    public enum Sampling: String, ConfigChoice {
        /// Each sample once per epoch, shuffled.
        case uniform
        /// With replacement, each class equally often on average.
        case balanced
    }

    /// What an empty or `NA`-like feature cell means.
    public enum MissingValues: String, ConfigChoice {
        case error, mean
    }
}
