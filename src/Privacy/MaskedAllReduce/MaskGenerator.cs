using AllReduceNet.Kernels;
using AllReduceNet.Kernels.Cpu;

namespace AllReduceNet.Privacy;

/// <summary>The pseudo-random generator that expands a pair's 128-bit seed into its mask (docs/masked-allreduce.md, "The PRG").</summary>
public enum MaskGenerator
{
    /// <summary>
    /// ChaCha8 with a 128-bit key (a stream cipher: its output is indistinguishable from random without the key, with
    /// a wide margin over the best known attacks, which reach 7 rounds); about twice as fast per word as Philox here.
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
