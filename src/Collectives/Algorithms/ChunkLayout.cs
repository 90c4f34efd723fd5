namespace AllReduceNet.Collectives.Algorithms;

/// <summary>
/// Cuts <c>count</c> elements into one chunk per rank: a chunk is one rank's 1/N share. The first count % N chunks
/// hold one element more, so uneven counts (and counts below N, where some chunks are empty) need no special case.
/// With a <c>unit</c> above 1, chunks are cut at multiples of it (the reproducible ring keeps each block of one scale
/// inside one chunk), the units shared out the same way and the last chunk ending at <c>count</c>.
/// </summary>
internal readonly struct ChunkLayout
{
    private readonly long _baseLength;
    private readonly int _longerChunks;
    private readonly long _unit;
    private readonly long _count;

    public ChunkLayout(long count, int ranks, long unit = 1)
    {
        long units = (count + unit - 1) / unit;
        _baseLength = units / ranks;
        _longerChunks = (int)(units % ranks);
        _unit = unit;
        _count = count;
    }

    public long MaxLength => Math.Min((_baseLength + (_longerChunks > 0 ? 1 : 0)) * _unit, _count);

    public long Offset(int chunk) => Math.Min(UnitOffset(chunk) * _unit, _count);

    public long Length(int chunk) => Offset(chunk + 1) - Offset(chunk);

    private long UnitOffset(int chunk) => chunk * _baseLength + Math.Min(chunk, _longerChunks);
}
