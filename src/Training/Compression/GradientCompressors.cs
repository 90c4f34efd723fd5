using AllReduceNet.Collectives;
using AllReduceNet.Training.Model;

namespace AllReduceNet.Training.Compression;

/// <summary>Creates the compressor a --compress spec names, sized for the model's buckets (one per layer).</summary>
internal static class GradientCompressors
{
    public static IGradientCompressor Create(CompressionSpec spec, Communicator world, CollectiveOptions options, ParameterLayout layout, int seed)
    {
        var lengths = Enumerable.Range(0, layout.LayerCount).Select(layout.LayerLength).ToArray();
        return spec.Kind switch
        {
            CompressionKind.Fp16 => new Fp16Compressor(world, options, lengths.Max()),
            CompressionKind.Bf16 => new Bf16Compressor(world, options, lengths.Max()),
            CompressionKind.TopK => new TopKCompressor(world, options, spec.Ratio, lengths),
            CompressionKind.PowerSgd => new PowerSgdCompressor(world, options, spec.Rank, layout.Sizes, seed),
            _ => throw new ArgumentOutOfRangeException(nameof(spec), spec.Kind, "unknown compressor"),
        };
    }
}
