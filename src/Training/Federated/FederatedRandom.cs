namespace AllReduceNet.Training.Federated;

/// <summary>
/// Seeds of every random choice of a federated run, each a pure function of (run seed, round, client, purpose), so
/// that any rank, any rank count and a resumed run make the same choice without talking. Mixed with SplitMix64's
/// finalizer rather than HashCode.Combine, which is randomized per process (MPI ranks are processes).
/// </summary>
internal static class FederatedRandom
{
    /// <summary>What a seed is for; the values take part in the seed, so never renumber them.</summary>
    public enum Purpose
    {
        Partition = 1,
        Sampling = 2,
        Dropout = 3,
        LocalShuffle = 4,
        SecAggDropoutStage = 5,
        SecAggUnmaskDropout = 6,
        SecAggGraph = 7,
        // Robust aggregation and attacks (far from the next free number, so parallel additions cannot collide).
        Malicious = 40,
        AttackNoise = 41,
        SecureGroups = 42,
    }

    /// <summary>A generator for one purpose of one (round, client); -1 where a coordinate does not apply.</summary>
    public static Random For(int seed, Purpose purpose, int round = -1, int client = -1, int epoch = -1) =>
        new(Seed(seed, purpose, round, client, epoch));

    public static int Seed(int seed, Purpose purpose, int round = -1, int client = -1, int epoch = -1)
    {
        ulong x = (ulong)(uint)seed;
        foreach (int part in (ReadOnlySpan<int>)[(int)purpose, round, client, epoch])
            x = Mix(x ^ (uint)part);
        return (int)(x & int.MaxValue);
    }

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
