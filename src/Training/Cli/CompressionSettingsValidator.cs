using AllReduceNet.Collectives;
using AllReduceNet.Training.Compression;

namespace AllReduceNet.Training.Cli;

/// <summary>Checks --compress: a valid spec, for ddp, and not with the options whose sums it would change.</summary>
internal static class CompressionSettingsValidator
{
    /// <returns>The parsed spec, or null without --compress.</returns>
    /// <exception cref="TrainingException">The spec is malformed or cannot be combined; the message names --compress.</exception>
    public static CompressionSpec? Validate(TrainOptions options, StrategyKind strategy, AllReduceAlgorithm algorithm)
    {
        if (options.Compress is null) return null;
        var spec = CompressionSpec.Parse(options.Compress);
        if (strategy != StrategyKind.Ddp)
            throw new TrainingException($"--compress applies to --strategy ddp only, not {options.Strategy}.");
        if (options.Reproducible)
            throw new TrainingException($"--compress {spec} and --reproducible cannot be combined: a compressed sum is approximate, and its result depends on the rank count.");
        if (options.Secure)
            throw new TrainingException($"--compress {spec} and --secure cannot be combined: the masked AllReduce sums quantized integers in its own format.");
        if (spec.Kind == CompressionKind.Fp16 && algorithm == AllReduceAlgorithm.Native)
            throw new TrainingException("--compress fp16 cannot use --algorithm native: MPI has no half-precision type to reduce; use auto, ring, tree or rd.");
        return spec;
    }
}
