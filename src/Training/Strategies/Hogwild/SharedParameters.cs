using AllReduceNet.Collectives;

namespace AllReduceNet.Training.Strategies.Hogwild;

/// <summary>
/// The one copy of the flat parameter vector that all in-process ranks of a hogwild run read and write. Rank 0
/// allocates it on the pinned object heap (so its address never changes) and broadcasts the address; the other
/// ranks are threads of the same process and use it directly. It lives as long as rank 0's strategy, and every rank
/// stops touching it at the trainer's last barrier, before any strategy is disposed.
/// <para>
/// Memory model: every access is a scalar, 4-byte aligned float load or store, which ECMA-335 (I.12.6.6) makes
/// atomic, so no rank ever reads a torn float. Nothing orders them: an update may be lost when two ranks
/// read-modify-write the same entry at once, and a rank may read a mix of old and new entries. Niu et al. (2011)
/// accept exactly this and show SGD still converges when updates are sparse and rarely collide.
/// </para>
/// </summary>
internal sealed unsafe class SharedParameters
{
    private readonly float[]? _owned;
    private readonly float* _pointer;

    /// <summary>Collective: rank 0 allocates, every rank gets the address.</summary>
    public SharedParameters(Communicator world, int count)
    {
        Span<long> address = [0];
        if (world.Rank == 0)
        {
            _owned = GC.AllocateArray<float>(count, pinned: true);
            fixed (float* p = _owned) address[0] = (long)p;
        }
        world.Broadcast(address, 0);
        _pointer = (float*)address[0];
        Count = count;
    }

    public int Count { get; }

    /// <summary>The shared vector. Only scalar reads and writes of single entries keep the no-torn-float guarantee;
    /// use <see cref="CopyTo"/> and <see cref="CopyFrom"/> for whole-vector copies.</summary>
    public Span<float> Values => new(_pointer, Count);

    /// <summary>Reads every entry, one scalar load each (another rank may be writing meanwhile).</summary>
    public void CopyTo(Span<float> destination)
    {
        var values = Values;
        for (int i = 0; i < values.Length; i++) destination[i] = values[i];
    }

    /// <summary>Writes every entry (only while no other rank runs: load and resume).</summary>
    public void CopyFrom(ReadOnlySpan<float> source) => source.CopyTo(Values);
}
