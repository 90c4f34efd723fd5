namespace AllReduceNet.Kernels;

/// <summary>One peer j of masking client i: the pair seed s_ij and the sign of its mask (+1 for j &gt; i, -1 for j &lt; i).</summary>
internal struct MaskPeer
{
    public Seed128 Seed;
    public int Sign;
}
