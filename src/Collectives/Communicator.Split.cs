using AllReduceNet.Collectives.Algorithms;
using AllReduceNet.Collectives.Operators;

namespace AllReduceNet.Collectives;

public sealed unsafe partial class Communicator
{
    /// <summary>
    /// Splits the communicator like MPI_Comm_split: ranks passing the same <paramref name="color"/> form a new
    /// communicator, ordered by <paramref name="key"/> and then by their rank here. Collective: every rank calls it.
    /// </summary>
    /// <returns>The new communicator, or null for a rank that passed a negative color (MPI_UNDEFINED).</returns>
    /// <exception cref="CommunicationTimeoutException">A rank did not call it in time.</exception>
    public Communicator? Split(int color, int key)
    {
        ThrowIfDisposed();
        // The agreement is the core's, on every transport: every rank learns every rank's (color, key) ...
        var call = new CollectiveCall(this, CollectiveKind.Internal, ElementType.Int32, null, 2, CollectiveOptions.Default);
        var all = new int[2 * Size];
        all[2 * Rank] = color;
        all[2 * Rank + 1] = key;
        try
        {
            fixed (int* p = all)
                RingPipeline.Run<int, NoOperator<int>>(call, p, new ChunkLayout(all.Length, Size), reduceScatter: false, allGather: true);
        }
        catch (Exception error)
        {
            call.NotifyPeersOfFailure(error);
            throw;
        }
        // ... and the members of each color, in (key, rank) order, ask the transport for their group.
        int[]? members = color < 0 ? null : Enumerable.Range(0, Size).Where(r => all[2 * r] == color)
            .OrderBy(r => all[2 * r + 1]).ThenBy(r => r).ToArray();
        var transport = Transport.CreateGroup(members, call.CallNumber);
        if (transport is null) return null;
        transport.DefaultTimeout = DefaultTimeout;
        return new Communicator(transport);
    }
}
