using System.Diagnostics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using AllReduceNet.Collectives;
using AllReduceNet.Kernels;
using AllReduceNet.Kernels.Cpu;

namespace AllReduceNet.Privacy;

/// <summary>
/// The masked ring AllReduce with the masking inside the ring: a ring written on the communicator's point-to-point
/// calls, in which each segment is quantized and masked just before it is first sent or reduced, and the final sum
/// of a segment is dequantized right where it is reduced, while it is still in cache. So masking costs no pass over
/// the vector of its own: the plain ring reads and writes every element anyway, and the masked ring does the same
/// reads and writes with more arithmetic between them (the separate quantize, integer AllReduce and dequantize passes
/// of <see cref="MaskedAllReduce.QuantizeAndMask"/> cost about three passes more, which on a memory-bound machine is
/// what held the masked ring to a third of the plain ring's speed).
/// <para>
/// Vocabulary as in the collectives' ring: a chunk is one rank's 1/N share of the vector, a segment the unit in
/// flight. Reduce-scatter, steps s = 0..N-2: rank r sends segment j of chunk r-s-1 to rank r+1 and receives segment
/// j of chunk r-s-2 from rank r-1 into a scratch buffer, then replaces its own elements of that segment by
/// Q(x) + masks + received (step 0 masks the sent segment in place first). After the last step rank r holds the
/// integer total of chunk r, which it dequantizes at once. All-gather, steps t = 0..N-2: rank r sends chunk r-t
/// (floats now: the total, which every rank learns anyway) and receives chunk r-t-1 in place. Every chunk is reduced
/// once, by one rank, in ring order, then only copied: every rank ends with the same bits.
/// </para>
/// <para>
/// What travels during reduce-scatter is a rank's own masked segment or a sum of masked segments over a proper,
/// contiguous arc of ranks: uniform as long as a mask pair crosses the arc's boundary (docs/masked-allreduce.md,
/// threat model). Chunk and segment boundaries are multiples of <see cref="Alignment"/> elements, so every range
/// starts on a PRG block (4 words) and the element-to-mask-word map is the same as the unfused path's: both give the
/// same masks and the same result.
/// </para>
/// <para>
/// Messages go on the communicator's user channel with tag <see cref="Tag"/>; a SendReceive per (step, segment)
/// posts the receive before the send, so no order of ranks can deadlock, and every wait shares the call's deadline.
/// A rank that fails leaves the others to time out with a message naming the step (there is no world abort on the
/// point-to-point channel).
/// </para>
/// </summary>
internal static class MaskedRing
{
    /// <summary>The user tag of the ring's messages (the largest tag, which user code rarely picks).</summary>
    public const int Tag = Communicator.MaxTag;

    /// <summary>Chunk and segment boundaries are multiples of this many elements (one 512-bit vector).</summary>
    public const int Alignment = 16;

    /// <summary>Elements handled at once inside a segment: 16 KiB, so quantize, mask, add and dequantize stay in L1.</summary>
    private const int TileElements = 4096;

    /// <summary>Segment bytes when the options do not say: large enough that a rendezvous per segment is cheap, small enough to stay in L2.</summary>
    public const int DefaultSegmentBytes = 256 << 10;

    /// <summary>
    /// Runs the masked ring in place: <paramref name="data"/> holds this rank's vector on entry and the dequantized
    /// sum on return. <paramref name="observeSent"/>, for the tests, sees every reduce-scatter segment as it is sent.
    /// </summary>
    /// <exception cref="CommunicationTimeoutException">A neighbour did not send or receive in time; names the step.</exception>
    public static void Run(Communicator communicator, Span<float> data, MaskPeer[] peers, FixedPointFormat format,
        CollectiveOptions? options, Action<int, ReadOnlySpan<int>>? observeSent = null)
    {
        int n = communicator.Size, rank = communicator.Rank, count = data.Length;
        var integers = MemoryMarshal.Cast<float, int>(data);
        if (n == 1)
        {
            Reduce(data, integers, 0, count, peers, format, ReadOnlySpan<int>.Empty, final: true);
            return;
        }
        var timeout = options?.Timeout ?? communicator.DefaultTimeout;
        var clock = Stopwatch.StartNew();
        int units = (count + Alignment - 1) / Alignment;
        int chunkElements = (units + n - 1) / n * Alignment;
        int segmentBytes = options?.SegmentBytes ?? DefaultSegmentBytes;
        int segmentElements = Math.Max(Alignment, segmentBytes / sizeof(int) / Alignment * Alignment);
        int segments = Math.Max(1, (chunkElements + segmentElements - 1) / segmentElements);
        int left = (rank - 1 + n) % n, right = (rank + 1) % n;
        int[] scratch = System.Buffers.ArrayPool<int>.Shared.Rent(Math.Min(segmentElements, Math.Max(chunkElements, 1)));
        try
        {
            for (int step = 0; step < n - 1; step++)
            {
                int sendChunk = Mod(rank - step - 1, n), receiveChunk = Mod(rank - step - 2, n);
                bool final = step == n - 2;
                for (int j = 0; j < segments; j++)
                {
                    var (sendStart, sendLength) = Segment(sendChunk, j, chunkElements, segmentElements, count);
                    var (receiveStart, receiveLength) = Segment(receiveChunk, j, chunkElements, segmentElements, count);
                    if (step == 0 && sendLength > 0)
                        Reduce(data, integers, sendStart, sendLength, peers, format, ReadOnlySpan<int>.Empty, final: false);
                    var sent = integers.Slice(sendStart, sendLength);
                    observeSent?.Invoke(step, sent);
                    var received = scratch.AsSpan(0, receiveLength);
                    Exchange(communicator, sent, right, received, left, Remaining(clock, timeout, rank, step, j, "reduce-scatter"));
                    if (receiveLength > 0)
                        Reduce(data, integers, receiveStart, receiveLength, peers, format, received, final);
                }
            }
            for (int step = 0; step < n - 1; step++)
            {
                int sendChunk = Mod(rank - step, n), receiveChunk = Mod(rank - step - 1, n);
                for (int j = 0; j < segments; j++)
                {
                    var (sendStart, sendLength) = Segment(sendChunk, j, chunkElements, segmentElements, count);
                    var (receiveStart, receiveLength) = Segment(receiveChunk, j, chunkElements, segmentElements, count);
                    Exchange<float>(communicator, data.Slice(sendStart, sendLength), right, data.Slice(receiveStart, receiveLength), left,
                        Remaining(clock, timeout, rank, n - 1 + step, j, "all-gather"));
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<int>.Shared.Return(scratch);
        }
    }

    /// <summary>
    /// In place over [start, start + length): q = Q(x) + this rank's masks (+ received, when given); with
    /// <paramref name="final"/> the integers are dequantized back into the floats' memory. Tile by tile, so each
    /// element is loaded from memory once and stored once.
    /// </summary>
    internal static void Reduce(Span<float> data, Span<int> integers, int start, int length, MaskPeer[] peers,
        FixedPointFormat format, ReadOnlySpan<int> received, bool final)
    {
        float clip = format.ClipRange, scale = format.Scale, inverse = 1f / format.Scale;
        for (int offset = 0; offset < length; offset += TileElements)
        {
            int at = start + offset, tile = Math.Min(TileElements, length - offset);
            var q = integers.Slice(at, tile);
            VectorQuantizer.Quantize(data.Slice(at, tile), q, clip, scale);
            PhiloxMasking.AddMasks(integers, at, tile, peers);
            if (!received.IsEmpty) TensorPrimitives.Add(q, received.Slice(offset, tile), q);
            if (final) Dequantize(q, data.Slice(at, tile), inverse);
        }
    }

    /// <summary>output[i] = q[i] x 2^-f: int to float rounds once (to nearest) and the power of two is exact, so this
    /// equals the kernels' (float)(q / (double)scale) bit for bit. output may be q's own memory.</summary>
    internal static void Dequantize(ReadOnlySpan<int> q, Span<float> output, float inverse)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref int s = ref MemoryMarshal.GetReference(q);
            ref float o = ref MemoryMarshal.GetReference(output);
            var factor = Vector256.Create(inverse);
            for (; i + 8 <= q.Length; i += 8)
                (Vector256.ConvertToSingle(Vector256.LoadUnsafe(ref s, (nuint)i)) * factor).StoreUnsafe(ref o, (nuint)i);
        }
        for (; i < q.Length; i++) output[i] = q[i] * inverse;
    }

    private static void Exchange<T>(Communicator communicator, ReadOnlySpan<T> send, int right, Span<T> receive, int left, TimeSpan timeout)
        where T : unmanaged
    {
        // Both ends compute the same lengths, so an empty side is skipped on both ends alike.
        if (send.Length > 0 && receive.Length > 0)
            communicator.SendReceive(send, right, Tag, receive, left, Tag, timeout);
        else if (send.Length > 0)
            communicator.Send(send, right, Tag, timeout);
        else if (receive.Length > 0)
            communicator.Receive(receive, left, Tag, timeout);
    }

    private static TimeSpan Remaining(Stopwatch clock, TimeSpan timeout, int rank, int step, int segment, string phase)
    {
        if (timeout == Timeout.InfiniteTimeSpan) return timeout;
        var left = timeout - clock.Elapsed;
        if (left <= TimeSpan.Zero)
            throw new CommunicationTimeoutException($"rank {rank}: the masked ring AllReduce ran past its timeout of {timeout} at step {step} ({phase}), segment {segment}.");
        return left;
    }

    /// <summary>Segment j of a chunk, clipped to the vector: (start, length), length 0 past the end.</summary>
    private static (int Start, int Length) Segment(int chunk, int j, int chunkElements, int segmentElements, int count)
    {
        long start = (long)chunk * chunkElements + (long)j * segmentElements;
        long end = Math.Min(Math.Min(start + segmentElements, (long)(chunk + 1) * chunkElements), count);
        return start >= end ? (0, 0) : ((int)start, (int)(end - start));
    }

    private static int Mod(int x, int n) => ((x % n) + n) % n;
}
