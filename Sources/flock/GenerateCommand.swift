import ArgumentParser
import Flock
import Foundation

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Samples from a generative graph model: z ~ N(0, T²) at its latent node, decoded to its output.",
        discussion: """
            --prior mixture:K draws z instead from a mixture of K full-covariance Gaussians fitted by \
            expectation maximization (from --seed) to the latent node's values on the training split \
            (a VAE's posterior means, read from the run's data file): ex-post density estimation \
            (Ghosh et al., ICLR 2020), for a VAE whose codes do not fill N(0, 1). \
            --temperature then scales each component's spread. \
            Example: flock generate runs/vae-digits-… --samples 500 --prior mixture:100 (examples/vae-digits.yaml).
            """)

    @Argument(help: "A checkpoint folder, or a run directory (its best checkpoint when it kept one, else its last).")
    var checkpoint: String

    @Option(help: "How many samples to draw.")
    var samples: Int = 16

    @Option(help: "The node the prior replaces (default: the node whose last layer is a sampling or latent_noise layer).")
    var latent: String?

    @Option(name: .customLong("model-output"), help: "The output to decode to (default: the graph's first output).")
    var modelOutput: String?

    @Option(help: "The class to draw every sample for (a model with an input from labels: a conditional GAN), by index or class name.")
    var condition: String?

    @Option(help: "Scales the prior's draws: z ~ N(0, T²); below 1 keeps them nearer the mode (default 1).")
    var temperature: Float = 1

    @Option(help: "The prior z is drawn from: normal (N(0, T²)) or mixture:K (K Gaussians fitted to the training codes; K 1 to 1000).")
    var prior: String = "normal"

    @Option(help: "Seed of the prior's draws (and of a mixture's fit).")
    var seed: UInt64 = 0

    @Option(help: "Write the samples here as CSV (a header of the feature columns). Default: standard output.")
    var output: String?

    func run() throws {
        guard (1...1_000_000).contains(samples) else { throw ValidationError("--samples: expected 1 to 1000000, got \(samples)") }
        do {
            let prior = try LatentPrior(parsing: prior)
            let predictor = try Predictor(path: checkpoint)
            let rows = try predictor.generate(samples: samples, latent: latent, output: modelOutput, seed: seed, condition: condition,
                                            temperature: temperature, prior: prior)
            let text = predictor.generatedCSV(rows)
            if let output {
                try AtomicFile.write(Data(text.utf8), to: URL(fileURLWithPath: output))
                print("\(samples) samples from \(predictor.choice) → \(output)")
            } else {
                print(text, terminator: "")
            }
        } catch {
            throw CommandFailure("\(error)")
        }
    }
}
