/// A sentence on whether a run's loss curves suggest over- or underfitting, and from
/// which epoch, judged the way a person reads the curves (Keras' and Goodfellow et al.'s
/// "Deep Learning" §7.8 rules of thumb):
///
/// - **underfitting (not learning)**: training loss never gets below 95 % of its first value;
/// - **overfitting**: validation loss is lowest at epoch B, ends more than 3 % above that
///   minimum at least two epochs later, while training loss keeps falling — from epoch B + 1;
/// - **unstable**: validation loss rises after B and training loss rises with it;
/// - **underfitting (still improving)**: validation loss fell more than 1 % over the last
///   fifth of the epochs (at least one) and is at its lowest at the end;
/// - otherwise **a good fit**: validation loss levels off (within 1 % of its minimum) from
///   some epoch and does not rise.
///
/// Relative changes are measured against |minimum validation loss| (or 1 % of the
/// validation range, when the minimum is near 0).
public struct FitDiagnosis: Sendable, Equatable {
    public enum Verdict: String, Sendable {
        case overfitting, underfitting, unstable
        case goodFit = "good_fit"
        case undetermined
    }

    public let verdict: Verdict
    /// The epoch the verdict starts from (overfitting: the first epoch past the best one).
    public let epoch: Int?
    public let sentence: String

    /// `train` and `validation`: (epoch, loss), in epoch order.
    public static func diagnose(train: [(epoch: Int, value: Double)], validation: [(epoch: Int, value: Double)]) -> FitDiagnosis {
        guard validation.count >= 3, let firstTrain = train.first, let lastTrain = train.last else {
            return FitDiagnosis(verdict: .undetermined, epoch: nil, sentence: validation.isEmpty
                ? "No validation loss was logged, so over- or underfitting cannot be judged (set data.validation_split)."
                : "Too few epochs (\(validation.count)) to judge over- or underfitting: at least 3 with a validation loss are needed.")
        }
        let best = validation.min { $0.value < $1.value }!
        let last = validation.last!
        let range = (validation.map(\.value).max() ?? best.value) - best.value
        let scale = max(abs(best.value), range * 0.01, 1e-12)
        let lowestTrain = train.map(\.value).min() ?? lastTrain.value
        if lowestTrain > 0.95 * firstTrain.value && firstTrain.value > 0 {
            return FitDiagnosis(verdict: .underfitting, epoch: firstTrain.epoch, sentence:
                "Underfitting from epoch \(firstTrain.epoch): training loss hardly falls (\(n(firstTrain.value)) → \(n(lastTrain.value)) by epoch \(lastTrain.epoch)), so the model is not learning the training data; try a higher learning rate, more epochs or a larger model.")
        }
        let rise = (last.value - best.value) / scale
        let trainAtBest = train.last { $0.epoch <= best.epoch }?.value ?? firstTrain.value
        if last.epoch - best.epoch >= 2 && rise > 0.03 {
            if lastTrain.value < trainAtBest {
                return FitDiagnosis(verdict: .overfitting, epoch: best.epoch + 1, sentence:
                    "Overfitting from epoch \(best.epoch + 1): validation loss is lowest at epoch \(best.epoch) (\(n(best.value))) and rises to \(n(last.value)) by epoch \(last.epoch) (+\(percent(rise))) while training loss keeps falling (\(n(trainAtBest)) → \(n(lastTrain.value))); the weights of epoch \(best.epoch) generalize best.")
            }
            return FitDiagnosis(verdict: .unstable, epoch: best.epoch + 1, sentence:
                "Unstable from epoch \(best.epoch + 1): validation loss rises from \(n(best.value)) at epoch \(best.epoch) to \(n(last.value)) by epoch \(last.epoch), and training loss rises too (\(n(trainAtBest)) → \(n(lastTrain.value))); this is not overfitting but a learning rate too high or a diverging run.")
        }
        let lookBack = max(1, validation.count / 5)
        let earlier = validation[validation.count - 1 - lookBack]
        let recentDrop = (earlier.value - last.value) / scale
        if recentDrop > 0.01 && last.value <= best.value {
            return FitDiagnosis(verdict: .underfitting, epoch: last.epoch, sentence:
                "Underfitting: validation loss is still falling at the last epoch, \(last.epoch) (\(n(earlier.value)) at epoch \(earlier.epoch) → \(n(last.value)), −\(percent(recentDrop))), with training loss \(n(lastTrain.value)); more epochs should help.")
        }
        let plateau = validation.first { ($0.value - best.value) / scale <= 0.01 }!
        return FitDiagnosis(verdict: .goodFit, epoch: plateau.epoch, sentence:
            "No sign of over- or underfitting: validation loss levels off from epoch \(plateau.epoch) (within 1 % of its minimum, \(n(best.value)) at epoch \(best.epoch)) and does not rise; training loss ends at \(n(lastTrain.value)).")
    }

    private static func n(_ value: Double) -> String { NumberText.format(value) }
    private static func percent(_ fraction: Double) -> String { "\(NumberText.format((fraction * 1000).rounded() / 10)) %" }
}
