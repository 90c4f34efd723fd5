namespace AllReduceNet.Collectives.Suite;

/// <summary>
/// A collective on which the ranks disagree: every rank but <see cref="OddRank"/> calls an AllReduce of
/// <see cref="Count"/> floats with Sum and <see cref="Algorithm"/>; the odd rank departs from it as <see cref="Kind"/>
/// says. A rank that sees the mismatch must fail, and that failure must release every other rank of the group within a
/// second, whatever the algorithm: none may wait for its timeout.
/// </summary>
public sealed record MismatchScenario(MismatchKind Kind, AllReduceAlgorithm Algorithm, int Count, int OddRank)
{
    /// <summary>What the rank that throws on purpose says.</summary>
    public static string ThrownOnPurpose(int rank) => $"rank {rank} fails on purpose";

    /// <summary>Whether <paramref name="rank"/> must end <see cref="Run"/> with an exception (all but a rank that leaves).</summary>
    public bool MustFail(int rank) => !(Kind == MismatchKind.Leaves && rank == OddRank);

    /// <summary>
    /// Runs this rank's part. Should the mismatched call return on a rank, the Barrier after it must still fail there:
    /// a group that went past a mismatch is no group any more. Returns only where the scenario is broken (or the rank
    /// is the one that leaves).
    /// </summary>
    public void Run(Communicator comm)
    {
        bool odd = comm.Rank == OddRank;
        var options = new CollectiveOptions { Algorithm = Algorithm };
        switch (Kind)
        {
            case MismatchKind.Count:
                comm.AllReduce<float>(new float[odd ? Count - 1 : Count], ReduceOp.Sum, options);
                break;
            case MismatchKind.Operator:
                ReduceKeepingTheBuffer(comm, odd ? ReduceOp.Max : ReduceOp.Sum, options);
                break;
            case MismatchKind.ElementType when odd:
                comm.AllReduce<int>(new int[Count], ReduceOp.Sum, options);
                break;
            case MismatchKind.Collective when !odd:
                // From the last rank (the first where that is the odd one): a root only sends, so it may well finish.
                comm.Broadcast<float>(new float[Count], OddRank == comm.Size - 1 ? 0 : comm.Size - 1);
                break;
            case MismatchKind.Throws when odd:
                throw new InvalidOperationException(ThrownOnPurpose(comm.Rank));
            case MismatchKind.Leaves when odd:
                return;
            default:
                comm.AllReduce<float>(new float[Count], ReduceOp.Sum, options);
                break;
        }
        comm.Barrier();
    }

    /// <summary>
    /// Sum against Max with the same count and type: every message has the length its receiver expects, so only the
    /// signature tells them apart. At 2 ranks each rank's first receive is the mismatched one, so a rank that reports
    /// the mismatch must still hold its input: the mismatched message was not reduced into its buffer.
    /// </summary>
    private void ReduceKeepingTheBuffer(Communicator comm, ReduceOp op, CollectiveOptions options)
    {
        var data = Enumerable.Range(0, Count).Select(i => (float)(i % 17 + comm.Rank)).ToArray();
        var input = (float[])data.Clone();
        try
        {
            comm.AllReduce<float>(data, op, options);
        }
        catch (CollectiveMismatchException e) when (comm.Size == 2 && !data.AsSpan().SequenceEqual(input))
        {
            throw new InvalidOperationException($"rank {comm.Rank}: the buffer was changed by the mismatched message", e);
        }
    }

    public override string ToString() => $"{Kind} mismatch, {Algorithm}, {Count} floats, odd rank {OddRank}";
}
