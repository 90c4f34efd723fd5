namespace AllReduceNet.Collectives.Algorithms;

/// <summary>
/// Cuts <c>count</c> elements into one chunk per rank: a chunk is one rank's 1/N share. The first count % N chunks
/// hold one element more, so uneven counts (and counts below N, where some chunks are empty) need no special case.
/// </summary>
internal readonly struct ChunkLayout
{
    private readonly long _baseLength;
    private readonly int _longerChunks;

    public ChunkLayout(long count, int ranks)
    {
        _baseLength = count / ranks;
        _longerChunks = (int)(count % ranks);
    }

    public long MaxLength => _baseLength + (_longerChunks > 0 ? 1 : 0);

    public long Offset(int chunk) => chunk * _baseLength + Math.Min(chunk, _longerChunks);

    public long Length(int chunk) => _baseLength + (chunk < _longerChunks ? 1 : 0);
}
