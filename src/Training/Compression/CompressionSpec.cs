using System.Globalization;

namespace AllReduceNet.Training.Compression;

/// <summary>
/// A parsed --compress value: fp16, bf16, topk:RATIO (the fraction of each bucket's entries sent, in (0, 1]) or
/// powersgd:RANK (the rank of the approximation, at least 1).
/// </summary>
internal sealed record CompressionSpec(CompressionKind Kind, double Ratio = 1, int Rank = 0)
{
    public const string Accepted = "fp16, bf16, topk:RATIO (0 < RATIO <= 1, e.g. topk:0.01) or powersgd:RANK (RANK >= 1, e.g. powersgd:4)";

    /// <exception cref="TrainingException">The text is not one of the accepted forms; the message names --compress.</exception>
    public static CompressionSpec Parse(string text)
    {
        string spec = text.Trim().ToLowerInvariant();
        int colon = spec.IndexOf(':');
        string name = colon < 0 ? spec : spec[..colon];
        string? argument = colon < 0 ? null : spec[(colon + 1)..];
        switch (name)
        {
            case "fp16" or "bf16" when argument is null:
                return new CompressionSpec(name == "fp16" ? CompressionKind.Fp16 : CompressionKind.Bf16);
            case "topk" when argument is not null:
                if (!double.TryParse(argument, NumberStyles.Float, CultureInfo.InvariantCulture, out double ratio) || !(ratio > 0 && ratio <= 1))
                    throw new TrainingException($"--compress '{text}': the top-k ratio must be a number in (0, 1], e.g. topk:0.01, but was '{argument}'.");
                return new CompressionSpec(CompressionKind.TopK, Ratio: ratio);
            case "powersgd" when argument is not null:
                if (!int.TryParse(argument, NumberStyles.None, CultureInfo.InvariantCulture, out int rank) || rank < 1)
                    throw new TrainingException($"--compress '{text}': the PowerSGD rank must be an integer of at least 1, e.g. powersgd:4, but was '{argument}'.");
                return new CompressionSpec(CompressionKind.PowerSgd, Rank: rank);
            default:
                throw new TrainingException($"--compress '{text}' is unknown; use {Accepted}.");
        }
    }

    public override string ToString() => Kind switch
    {
        CompressionKind.Fp16 => "fp16",
        CompressionKind.Bf16 => "bf16",
        CompressionKind.TopK => string.Create(CultureInfo.InvariantCulture, $"topk:{Ratio:G}"),
        _ => $"powersgd:{Rank}",
    };
}
