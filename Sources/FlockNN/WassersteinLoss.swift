import FlockTensor

/// The Wasserstein GAN's critic loss (Arjovsky, Chintala & Bottou, "Wasserstein GAN",
/// 2017): −mean(y · D(x)) with y the term's constant target, `1` for real samples and
/// `-1` for generated ones, so the critic's phase minimizes E[D(fake)] − E[D(real)] and
/// the generator's (`target: 1` on the fake scores) −E[D(fake)].
///
/// ```yaml
/// loss: {terms: [{name: wasserstein, output: real_score, target: 1},
///                {name: wasserstein, output: fake_score, target: -1}]}
/// ```
///
/// The critic must stay Lipschitz: clip its weights with a phase's `clip_weights`. The
/// gradient penalty (WGAN-GP) is not built: it needs the gradient of a backward pass,
/// which the tape cannot differentiate.
public struct WassersteinLoss: FieldlessLossKind {
    public static let typeName = "wasserstein"

    public init() {}

    /// The critic's scores are unbounded values.
    public var reading: OutputReading { .values }

    /// −mean(target · prediction) over every element; `target` has the prediction's size.
    public func callAsFunction(_ prediction: Variable, target: Tensor) -> Variable {
        let tape = prediction.tape
        return tape.scale(tape.mean(tape.multiply(prediction, tape.constant(target.reshaped(prediction.shape)))), by: -1)
    }
}
