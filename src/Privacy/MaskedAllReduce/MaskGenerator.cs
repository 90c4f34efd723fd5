using AllReduceNet.Kernels;
using AllReduceNet.Kernels.Cpu;

namespace AllReduceNet.Privacy;

/// <summary>The pseudo-random generator that expands a pair's 128-bit seed into its mask (docs/masked-allreduce.md, "The PRG").</summary>
public enum MaskGenerator
{
    /// <summary>
    /// ChaCha8 with a 128-bit key: a stream cipher (published attacks reach 7 rounds, at far beyond practical cost),
    /// 1.7 to 2.3 times Philox's words per CPU second here (AVX-512).
    /// </summary>
    ChaCha8,

    /// <summary>Philox4x32-10, the kernels' counter-based generator: statistically strong, but with no claim of cryptographic security.</summary>
    Philox,
}

/// <summary>Adds a call's masks with the chosen generator.</summary>
internal static class MaskStreams
{
    /// <summary>q[start .. start+len) += sum over peers of sign * mask of <paramref name="generator"/>; start a multiple of 4.</summary>
    public static void AddMasks(MaskGenerator generator, Span<int> q, int start, int len, MaskPeer[] peers)
    {
        if (generator == MaskGenerator.ChaCha8) ChaChaMasking.AddMasks(q, start, len, peers);
        else PhiloxMasking.AddMasks(q, start, len, peers);
    }
}
