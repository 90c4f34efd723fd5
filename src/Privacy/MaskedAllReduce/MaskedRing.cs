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
/// Q(x) + masks + received (step 0 masks the sent segment in place first). Where the transport reduces on receive
/// (in-process: <see cref="Communicator.TryIrecvReduce"/>), the rank instead writes Q(x) + masks in place before it
/// posts the receive, and the transport adds the neighbour's integers straight from the neighbour's buffer: one
/// pass where copying into the slot and adding it were two (benchmarks/RESULTS-federated.md, "maskspeed 4"). After the last step rank r holds the
/// integer total of chunk r, which it dequantizes at once (where the transport
/// reduces on receive, inside that last receive-reduce: <see cref="DequantizingAdd"/>). All-gather, steps t = 0..N-2: rank r sends chunk r-t
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
/// Messages go on the communicator's user channel with tag <see cref="Tag"/>, all non-blocking (Isend, Irecv), so no
/// order of ranks can deadlock, and every wait shares the call's deadline. A rank that fails leaves the others to time
/// out with a message naming the step and the neighbour (there is no world abort on the point-to-point channel).
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

    /// <summary>
    /// Segment bytes when the options do not say: large enough that a rendezvous per segment is cheap, and the two
    /// receive slots (1 MiB) still fit in L2. Against 256 KiB on 2 ranks, mean of three alternating runs: +13 % busbw at
    /// 1 MiB, +4 % at 64 MiB, -2 % (noise) at 16 MiB; 4 and 8 ranks within the noise; 1 MiB segments were slower at
    /// 1 MiB on 4 ranks (benchmarks/RESULTS-federated.md, "maskspeed 3").
    /// </summary>
    public const int DefaultSegmentBytes = 512 << 10;

    /// <summary>
    /// Runs the masked ring in place: <paramref name="data"/> holds this rank's vector on entry and the dequantized
    /// sum on return. <paramref name="observeSent"/>, for the tests, sees every reduce-scatter segment as it is sent.
    /// </summary>
    /// <exception cref="CommunicationTimeoutException">A neighbour did not send or receive in time; names the step.</exception>
    public static unsafe void Run(Communicator communicator, Span<float> data, MaskPeer[] peers, FixedPointFormat format,
        MaskGenerator generator, CollectiveOptions? options, Action<int, ReadOnlySpan<int>>? observeSent = null)
    {
        int n = communicator.Size, count = data.Length;
        if (n == 1)
        {
            Reduce(data, MemoryMarshal.Cast<float, int>(data), 0, count, peers, format, generator, ReadOnlySpan<int>.Empty, final: true);
            return;
        }
        int units = (count + Alignment - 1) / Alignment;
        int chunkElements = (units + n - 1) / n * Alignment;
        int segmentBytes = options?.SegmentBytes ?? DefaultSegmentBytes;
        int segmentElements = Math.Max(Alignment, Math.Min(segmentBytes / sizeof(int) / Alignment * Alignment, Math.Max(chunkElements, Alignment)));
        // Receive slots only where the transport cannot add on receive (MPI): in-process the call rents nothing.
        int[] scratch = communicator.ReducesUserReceives ? [] : System.Buffers.ArrayPool<int>.Shared.Rent(ReceivesInFlight * segmentElements);
        try
        {
            fixed (float* pointer = data)
            fixed (int* slots = scratch)
            {
                var pipeline = new Pipeline(communicator, pointer, new PointerMemory<float>(pointer, count).Memory, new PointerMemory<int>(slots, scratch.Length).Memory,
                    peers, format, generator, chunkElements, segmentElements, options?.Timeout ?? communicator.DefaultTimeout, observeSent);
                pipeline.Run();
            }
        }
        finally
        {
            if (scratch.Length > 0) System.Buffers.ArrayPool<int>.Shared.Return(scratch);
        }
    }

    /// <summary>
    /// Vectors from this size up prefetch the next tile while the masks of this one are made
    /// (<see cref="AddMasksPrefetching"/>): beyond the 1 MiB L2 the tiles come from memory. Smaller vectors are in the
    /// caches already, where prefetching has nothing to fetch (at 1 MiB it measured the same with and without), so
    /// they keep the plain loop (benchmarks/RESULTS-federated.md, "maskspeed 6").
    /// </summary>
    internal const long PrefetchFromBytes = 4L << 20;

    /// <summary>Receives posted ahead of the one being reduced: while one segment is reduced the next one arrives.</summary>
    private const int ReceivesInFlight = 2;

    /// <summary>
    /// The (step, segment) items in order, as the collectives' ring pipeline takes them: item k is segment k mod S of
    /// step k / S. The sends of step 0 go out at once (each masked just before); every later item's send is the segment
    /// that item k - S received, sent on as soon as it was reduced or stored; two receives are kept posted ahead.
    /// </summary>
    private sealed unsafe class Pipeline
    {
        private readonly Communicator _comm;
        private readonly float* _pointer;
        private readonly Memory<float> _data;
        private readonly Memory<int> _slots;
        private readonly MaskPeer[] _peers;
        private readonly FixedPointFormat _format;
        private readonly MaskGenerator _generator;
        private readonly int _n, _rank, _left, _right, _chunkElements, _segmentElements, _segments, _total;
        private readonly TimeSpan _timeout;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly Action<int, ReadOnlySpan<int>>? _observeSent;
        private readonly Request?[] _sends;
        private readonly Request?[] _receives = new Request?[ReceivesInFlight];
        /// <summary>
        /// Where the transport adds a received segment straight from the sender's memory (in-process): the own
        /// segment is quantized and masked in place before its receive is posted, and the transport then adds the
        /// peer's integers to it, one pass where receiving into a slot and adding it took two. Measured on 2 cores
        /// (benchmarks/RESULTS-federated.md, "maskspeed 4"): 2 ranks 9 to 11 % less time at 1 and 16 MiB, 6 % at
        /// 64 MiB; 4 and 8 ranks within the noise. Elsewhere (MPI) the slot path stays.
        /// </summary>
        private readonly bool _reduceOnReceive;
        /// <summary>The last reduce-scatter step's operator where the transport adds on receive: add and dequantize in one pass.</summary>
        private readonly delegate*<void*, void*, long, void> _addDequantize;

        public Pipeline(Communicator comm, float* pointer, Memory<float> data, Memory<int> slots, MaskPeer[] peers, FixedPointFormat format,
            MaskGenerator generator, int chunkElements, int segmentElements, TimeSpan timeout, Action<int, ReadOnlySpan<int>>? observeSent)
        {
            _comm = comm;
            _pointer = pointer;
            _data = data;
            _reduceOnReceive = comm.ReducesUserReceives;
            _addDequantize = DequantizingAdd.For(format.FractionalBits);
            _slots = slots;
            _peers = peers;
            _format = format;
            _generator = generator;
            _n = comm.Size;
            _rank = comm.Rank;
            _left = (_rank - 1 + _n) % _n;
            _right = (_rank + 1) % _n;
            _chunkElements = chunkElements;
            _segmentElements = segmentElements;
            _segments = Math.Max(1, (chunkElements + segmentElements - 1) / segmentElements);
            _total = 2 * (_n - 1) * _segments;
            _timeout = timeout;
            _observeSent = observeSent;
            _sends = new Request?[_total];
        }

        public void Run()
        {
            try
            {
                for (int k = 0; k < Math.Min(ReceivesInFlight, _total); k++) PostReceive(k);
                for (int j = 0; j < _segments; j++) Send(j);
                for (int k = 0; k < _total; k++)
                {
                    FinishReceive(k);
                    if (k + _segments < _total) Send(k + _segments);
                    if (k + ReceivesInFlight < _total) PostReceive(k + ReceivesInFlight);
                }
                for (int k = 0; k < _total; k++) Wait(_sends[k], k, "send");
            }
            catch
            {
                Drain();
                throw;
            }
        }

        private int Step(int item) => item / _segments;

        private bool IsReduceStep(int step) => step < _n - 1;

        private int SendChunk(int step) => Mod(IsReduceStep(step) ? _rank - step - 1 : _rank - (step - (_n - 1)), _n);

        private int ReceiveChunk(int step) => Mod(IsReduceStep(step) ? _rank - step - 2 : _rank - (step - (_n - 1)) - 1, _n);

        private void Send(int item)
        {
            int step = Step(item);
            var (start, length) = Segment(SendChunk(step), item % _segments, _chunkElements, _segmentElements, _data.Length);
            if (length == 0) return;
            if (IsReduceStep(step))
            {
                var integers = MemoryMarshal.Cast<float, int>(_data.Span);
                if (step == 0) Reduce(_data.Span, integers, start, length, _peers, _format, _generator, ReadOnlySpan<int>.Empty, final: false);
                _observeSent?.Invoke(step, integers.Slice(start, length));
            }
            // Integers during reduce-scatter, floats (the total) during all-gather: the same four bytes an element.
            _sends[item] = _comm.Isend<float>(_data.Slice(start, length), _right, Tag);
        }

        private void PostReceive(int item)
        {
            int step = Step(item), slot = item % ReceivesInFlight;
            var (start, length) = Segment(ReceiveChunk(step), item % _segments, _chunkElements, _segmentElements, _data.Length);
            _receives[slot] = null;
            if (length == 0) return;
            if (IsReduceStep(step))
            {
                if (_reduceOnReceive)
                {
                    // The transport may add the peer's segment the moment the receive is posted: mask first. The last
                    // step's operator dequantizes as it adds, so the total is never read back as integers.
                    Reduce(_data.Span, MemoryMarshal.Cast<float, int>(_data.Span), start, length, _peers, _format, _generator, ReadOnlySpan<int>.Empty, final: false);
                    var reduce = step == _n - 2 ? _addDequantize : &AddWrapping;
                    _receives[slot] = _comm.TryIrecvReduce(_pointer + start, (long)length * sizeof(int), _left, Tag, reduce)
                        ?? throw new InvalidOperationException($"rank {_rank}: the transport said it reduces on receive but refused the receive of step {step}.");
                    return;
                }
                _receives[slot] = _comm.Irecv(_slots.Slice(slot * _segmentElements, length), _left, Tag);
                return;
            }
            // All-gather overwrites a region this rank sent from at reduce-scatter step (step - (N - 1)): that send must be done.
            int earlier = (step - (_n - 1)) * _segments + item % _segments;
            Wait(_sends[earlier], earlier, "send");
            _receives[slot] = _comm.Irecv(_data.Slice(start, length), _left, Tag);
        }

        private void FinishReceive(int item)
        {
            int step = Step(item), slot = item % ReceivesInFlight;
            var receive = _receives[slot];
            if (receive is null) return;
            var status = Wait(receive, item, "receive");
            _receives[slot] = null;
            var (start, length) = Segment(ReceiveChunk(step), item % _segments, _chunkElements, _segmentElements, _data.Length);
            if (status.ByteCount != (long)length * sizeof(int))
                throw new PrivacyException($"rank {_rank}: the masked ring AllReduce received {status.ByteCount} bytes from rank {_left} at step {step}, segment {item % _segments}, where {length * sizeof(int)} were expected: the ranks passed vectors of different lengths.");
            if (!IsReduceStep(step)) return;
            if (_reduceOnReceive) return; // added, and at the last step dequantized, by the transport (DequantizingAdd)
            Reduce(_data.Span, MemoryMarshal.Cast<float, int>(_data.Span), start, length, _peers, _format, _generator,
                _slots.Span.Slice(slot * _segmentElements, length), final: step == _n - 2);
        }

        private MessageStatus Wait(Request? request, int item, string what)
        {
            if (request is null) return default;
            var left = _timeout == Timeout.InfiniteTimeSpan ? _timeout : _timeout - _clock.Elapsed;
            if (left <= TimeSpan.Zero)
                throw new CommunicationTimeoutException($"rank {_rank}: the masked ring AllReduce ran past its timeout of {_timeout} before the {what} of step {Step(item)}, segment {item % _segments} (rank {(what == "send" ? _right : _left)}).");
            try { return request.Wait(left); }
            catch (CommunicationTimeoutException e)
            {
                throw new CommunicationTimeoutException($"rank {_rank}: the masked ring AllReduce timed out after {_timeout} in the {what} of step {Step(item)}, segment {item % _segments} (rank {(what == "send" ? _right : _left)}): {e.Message}");
            }
        }

        /// <summary>
        /// After a failure: take back what is still posted (a receive left in a mailbox would be written by a peer's late
        /// send after the caller's span is unpinned), and wait out a transfer that already matched, so no transfer
        /// touches the caller's memory after the throw. TryCancel does both; waiting alone was cut short by an abort.
        /// </summary>
        private void Drain()
        {
            foreach (var request in _sends.Concat(_receives))
                if (request is { IsCompleted: false }) request.TryCancel();
        }
    }

    /// <summary>target[i] += source[i] over int32 with wrap-around (mod 2^32, the masks' group): the transport's receive-reduce operator.</summary>
    private static unsafe void AddWrapping(void* target, void* source, long bytes)
    {
        var sum = new Span<int>(target, (int)(bytes / sizeof(int)));
        TensorPrimitives.Add(sum, new ReadOnlySpan<int>(source, sum.Length), sum);
    }

    /// <summary>
    /// In place over [start, start + length): q = Q(x) + this rank's masks (+ received, when given); with
    /// <paramref name="final"/> the integers are dequantized back into the floats' memory. Tile by tile, so each
    /// element is loaded from memory once and stored once.
    /// </summary>
    internal static void Reduce(Span<float> data, Span<int> integers, int start, int length, MaskPeer[] peers,
        FixedPointFormat format, MaskGenerator generator, ReadOnlySpan<int> received, bool final)
    {
        float clip = format.ClipRange, scale = format.Scale, inverse = 1f / format.Scale;
        bool prefetch = (long)data.Length * sizeof(float) >= PrefetchFromBytes;
        for (int offset = 0; offset < length; offset += TileElements)
        {
            int at = start + offset, tile = Math.Min(TileElements, length - offset);
            var q = integers.Slice(at, tile);
            VectorQuantizer.Quantize(data.Slice(at, tile), q, clip, scale);
            if (prefetch) AddMasksPrefetching(generator, integers, at, tile, peers, data, at + tile, Math.Min(TileElements, start + length - (at + tile)));
            else MaskStreams.AddMasks(generator, integers, at, tile, peers);
            if (!received.IsEmpty) TensorPrimitives.Add(q, received.Slice(offset, tile), q);
            if (final) Dequantize(q, data.Slice(at, tile), inverse);
        }
    }

    /// <summary>Pieces of a tile between prefetches: two ChaCha8 batches, the AVX-512 kernel's unit.</summary>
    private const int PrefetchPieceElements = 512;

    /// <summary>
    /// <see cref="MaskStreams.AddMasks"/> over integers[at .. at + length), in pieces, with the floats of the next tile
    /// (data[next .. next + nextLength)) prefetched a part after each piece. Why: the mask generator is pure arithmetic
    /// and the quantizing read of a tile waits on memory; without this the two take turns on the core, and the memory
    /// is idle while the masks are generated. With it the next tile streams in while this one's masks are made.
    /// Pieces end on multiples of <see cref="PrefetchPieceElements"/> of the whole vector, so no mask batch is cut.
    /// </summary>
    private static unsafe void AddMasksPrefetching(MaskGenerator generator, Span<int> integers, int at, int length, MaskPeer[] peers,
        Span<float> data, int next, int nextLength)
    {
        if (nextLength <= 0 || !System.Runtime.Intrinsics.X86.Sse.IsSupported)
        {
            MaskStreams.AddMasks(generator, integers, at, length, peers);
            return;
        }
        const int line = 64;
        int pieces = (length + PrefetchPieceElements - 1) / PrefetchPieceElements;
        long lines = ((long)nextLength * sizeof(float) + line - 1) / line;
        fixed (float* floats = data)
        {
            byte* first = (byte*)(floats + next);
            int end = at + length, done = 0;
            long prefetched = 0;
            for (int piece = 1; done < length; piece++)
            {
                int pieceEnd = Math.Min(end, (at + done) / PrefetchPieceElements * PrefetchPieceElements + PrefetchPieceElements);
                MaskStreams.AddMasks(generator, integers, at + done, pieceEnd - (at + done), peers);
                done = pieceEnd - at;
                long upTo = Math.Min(lines, lines * piece / pieces);
                for (; prefetched < upTo; prefetched++) System.Runtime.Intrinsics.X86.Sse.Prefetch0(first + prefetched * line);
            }
            for (; prefetched < lines; prefetched++) System.Runtime.Intrinsics.X86.Sse.Prefetch0(first + prefetched * line);
        }
    }

    /// <summary>output[i] = q[i] x 2^-f: int to float rounds once (to nearest) and the power of two is exact, so this
    /// equals the kernels' (float)(q / (double)scale) bit for bit. output may be q's own memory.</summary>
    internal static void Dequantize(ReadOnlySpan<int> q, Span<float> output, float inverse)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            ref int s = ref MemoryMarshal.GetReference(q);
            ref float o = ref MemoryMarshal.GetReference(output);
            var factor = Vector512.Create(inverse);
            for (; i + 16 <= q.Length; i += 16)
                (Vector512.ConvertToSingle(Vector512.LoadUnsafe(ref s, (nuint)i)) * factor).StoreUnsafe(ref o, (nuint)i);
        }
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

    /// <summary>Segment j of a chunk, clipped to the vector: (start, length), length 0 past the end.</summary>
    private static (int Start, int Length) Segment(int chunk, int j, int chunkElements, int segmentElements, int count)
    {
        long start = (long)chunk * chunkElements + (long)j * segmentElements;
        long end = Math.Min(Math.Min(start + segmentElements, (long)(chunk + 1) * chunkElements), count);
        return start >= end ? (0, 0) : ((int)start, (int)(end - start));
    }

    private static int Mod(int x, int n) => ((x % n) + n) % n;
}
