using AllReduceNet.Collectives;

namespace AllReduceNet.Training.Compression;

/// <summary>
/// --compress bf16: each bucket travels as bfloat16 (<see cref="BFloat16"/>) and is summed in fp32 at the receiver,
/// since .NET has no bfloat16 arithmetic for the AllReduce to use. The bucket is cut into N chunks; chunk c goes
/// from every rank to rank c (an all-to-all, like a ring's reduce-scatter in bytes), which adds the N bfloat16
/// values in fp32 in rank order 0..N-1, rounds the sum to bfloat16 once, and an AllGather gives every rank every
/// chunk's sum. Each sum is computed on one rank and copied, so the result is bitwise the same everywhere. Bytes:
/// 2(N-1)/N x 2n, half of the fp32 ring's.
/// </summary>
internal sealed class Bf16Compressor : IGradientCompressor
{
    /// <summary>The user-channel tag of the chunk exchange; user tags never mix with collectives' messages.</summary>
    private const int ChunkTag = 1601;

    private readonly Communicator _world;
    private readonly CollectiveOptions _options;
    private readonly ushort[] _outgoing, _incoming, _gathered;
    private readonly float[] _sum;
    private readonly Request[] _requests;
    private long _bytesSent;

    public Bf16Compressor(Communicator world, CollectiveOptions options, int largestBucket)
    {
        _world = world;
        _options = options;
        int chunk = ChunkLength(largestBucket, world.Size);
        _outgoing = new ushort[chunk * world.Size];
        _incoming = new ushort[chunk * world.Size];
        _gathered = new ushort[chunk * world.Size];
        _sum = new float[chunk];
        _requests = new Request[2 * Math.Max(0, world.Size - 1)];
    }

    private static int ChunkLength(int length, int ranks) => (length + ranks - 1) / ranks;

    public long BytesSent => _bytesSent;

    public string Describe() => "compress bf16: buckets sent as bfloat16, each chunk summed in fp32 by its owner rank, then all-gathered (2 bytes an entry)";

    public void Sum(int layer, Span<float> bucket)
    {
        int ranks = _world.Size, me = _world.Rank, chunk = ChunkLength(bucket.Length, ranks);
        int padded = chunk * ranks;
        var outgoing = _outgoing.AsSpan(0, padded);
        for (int i = 0; i < bucket.Length; i++) outgoing[i] = BFloat16.FromSingle(bucket[i]);
        outgoing[bucket.Length..].Clear();

        // Chunk `me` of every rank comes here; ours is copied, not sent.
        int pending = 0;
        for (int peer = 0; peer < ranks; peer++)
        {
            if (peer == me) continue;
            _requests[pending++] = _world.Irecv(_incoming.AsMemory(peer * chunk, chunk), peer, ChunkTag);
        }
        for (int peer = 0; peer < ranks; peer++)
        {
            if (peer == me) continue;
            _requests[pending++] = _world.Isend<ushort>(_outgoing.AsMemory(peer * chunk, chunk), peer, ChunkTag);
        }
        outgoing.Slice(me * chunk, chunk).CopyTo(_incoming.AsSpan(me * chunk, chunk));
        Request.WaitAll(_requests.AsSpan(0, pending), _world.DefaultTimeout);

        var sum = _sum.AsSpan(0, chunk);
        sum.Clear();
        for (int peer = 0; peer < ranks; peer++)
        {
            var part = _incoming.AsSpan(peer * chunk, chunk);
            for (int i = 0; i < chunk; i++) sum[i] += BFloat16.ToSingle(part[i]);
        }
        var gathered = _gathered.AsSpan(0, padded);
        var mine = gathered.Slice(me * chunk, chunk);
        for (int i = 0; i < chunk; i++) mine[i] = BFloat16.FromSingle(sum[i]);
        _world.AllGather(gathered, _options);
        for (int i = 0; i < bucket.Length; i++) bucket[i] = BFloat16.ToSingle(gathered[i]);
        _bytesSent += 2L * (ranks - 1) * chunk * sizeof(ushort);
    }
}
