namespace AllReduceNet.Collectives;

/// <summary>Which AllReduce algorithm to run. See docs/algorithms.md for steps and bytes on the wire.</summary>
public enum AllReduceAlgorithm
{
    /// <summary>Pick by message size and rank count (see docs/algorithms.md); overridable with ALLREDUCENET_ALGO.</summary>
    Auto = 0,
    /// <summary>Reduce-scatter then all-gather around a ring: bandwidth-optimal, 2(N-1) steps.</summary>
    Ring = 1,
    /// <summary>Reduce up a binary tree, then broadcast down it: 2 log2(N) steps, for small messages.</summary>
    Tree = 2,
    /// <summary>The transport's own collective (MPI_Allreduce under MPI); the baseline of every benchmark.</summary>
    Native = 3,
    /// <summary>
    /// Exchange the whole buffer with the rank that differs in one bit, log2(N) rounds (plus two for a world that is
    /// not a power of two): the fewest steps, for the smallest messages.
    /// </summary>
    RecursiveDoubling = 4,
    /// <summary>
    /// Only where the ranks share an address space (the in-process transport): each rank reduces its 1/N of the
    /// buffer reading every rank's buffer directly, then copies the rest from their owners, between three barriers.
    /// </summary>
    Direct = 5,
    /// <summary>
    /// For ranks on several nodes (as <c>MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)</c> groups them): reduce-scatter
    /// inside each node (through the shared-memory channel under MPI), a ring AllReduce across the nodes among the
    /// ranks that hold the same shard, then all-gather inside each node. Only 1/L of the buffer (L ranks per node)
    /// crosses the network from each rank. Needs the same number of ranks on every node.
    /// </summary>
    Hierarchical = 6,
    /// <summary>
    /// Rabenseifner's: a reduce-scatter by recursive halving, then an all-gather by recursive doubling, pairing the
    /// ranks as <see cref="RecursiveDoubling"/> does, so it adds in the same order and gives the same bits, while each
    /// rank sends 2(N-1)/N of the buffer instead of log2(N) whole buffers. Reproducible training's tree uses it.
    /// </summary>
    RecursiveHalving = 7,
}
