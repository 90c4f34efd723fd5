namespace AllReduceNet.Training.Compression;

/// <summary>
/// How many bytes one rank sends for a collective, counted as the bandwidth-optimal algorithms send them (the same
/// count whichever algorithm runs, so that formats compare fairly): a ring AllReduce of n elements of s bytes sends
/// 2(N-1)/N x n x s, a ring AllGather of N blocks of b bytes sends (N-1) x b.
/// </summary>
internal static class WireBytes
{
    public static long AllReduce(long elements, int elementSize, int ranks) =>
        ranks <= 1 ? 0 : 2L * (ranks - 1) * elements * elementSize / ranks;

    public static long AllGather(long blockBytes, int ranks) => ranks <= 1 ? 0 : (ranks - 1) * blockBytes;
}
