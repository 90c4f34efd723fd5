using System.Diagnostics;
using System.Runtime.CompilerServices;
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
/// j of chunk r-s-2 from rank r-1, then replaces its own elements of that segment by Q(x) + masks + received, tile by
/// tile in L1, on its own thread (step 0 masks the sent segment in place first). In-process the transport lends the
/// receiver the neighbour's buffer (<see cref="Communicator.TryIrecvLoan"/>), so the neighbour's masked integers are
/// read straight from where the neighbour wrote them, together with the own floats, and the sum is written once
/// (benchmarks/RESULTS-federated.md, "maskspeed 7"); elsewhere (MPI) they arrive in a scratch slot first. The
/// neighbour's thread never reads this rank's memory, whose own segments are unmasked floats until they are reduced.
/// After the last step rank r holds the total of chunk r, dequantized in the same pass (<see cref="DequantizingAdd"/>).
/// All-gather, steps t = 0..N-2: rank r sends chunk r-t
/// (floats now: the total, which every rank learns anyway) and receives chunk r-t-1 in place. Every chunk is reduced
/// once, by one rank, in ring order, then only copied: every rank ends with the same bits.
/// </para>
/// <para>
/// What travels during reduce-scatter is a rank's own masked segment or a sum of masked segments over a proper,
/// contiguous arc of ranks: uniform as long as a mask pair crosses the arc's boundary (docs/masked-allreduce.md,
/// threat model). Which masks go on which chunk is the <see cref="RingMaskPlan"/>'s: every peer's on every element, or
/// all but those of pairs next to each other on the chunk's path, which no rank between them could see the cut of.
/// Chunk and segment boundaries are multiples of <see cref="Alignment"/> elements, so every range starts on a PRG
/// block (4 words) and the element-to-mask-word map is the same as the unfused path's: with every mask both send the
/// same words, and with either plan the result is the same bits, since the masks cancel in the total.
/// </para>
/// <para>
/// Messages go on the communicator's user channel with tag <see cref="Tag"/>, all non-blocking (Isend, Irecv), so no
/// order of ranks can deadlock, and every wait shares the call's deadline. A rank that fails leaves the others to time
/// out with a message naming the step and the neighbour (there is no world abort on the point-to-point channel).
/// </para>
/// </summary>
internal static class MaskedRing
{
    /// <summary>Sees a reduce-scatter segment as it is sent (for the tests): the step, the segment's first element, its integers.</summary>
    public delegate void SentSegmentObserver(int step, int start, ReadOnlySpan<int> segment);

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
    public static unsafe void Run(Communicator communicator, Span<float> data, RingMaskPlan masks, FixedPointFormat format,
        MaskGenerator generator, CollectiveOptions? options, SentSegmentObserver? observeSent = null)
    {
        int n = communicator.Size, count = data.Length;
        if (n == 1)
        {
            Reduce(data, MemoryMarshal.Cast<float, int>(data), 0, count, masks.ForChunk(0), format, generator, ReadOnlySpan<int>.Empty, final: true);
            return;
        }
        int units = (count + Alignment - 1) / Alignment;
        int chunkElements = (units + n - 1) / n * Alignment;
        int segmentBytes = options?.SegmentBytes ?? DefaultSegmentBytes;
        int segmentElements = Math.Max(Alignment, Math.Min(segmentBytes / sizeof(int) / Alignment * Alignment, Math.Max(chunkElements, Alignment)));
        // Receive slots only where the transport cannot lend the sender's buffer (MPI): in-process the call rents nothing.
        int[] scratch = communicator.LendsUserSends ? [] : System.Buffers.ArrayPool<int>.Shared.Rent(ReceivesInFlight * segmentElements);
        try
        {
            fixed (float* pointer = data)
            fixed (int* slots = scratch)
            {
                var pipeline = new Pipeline(communicator, new PointerMemory<float>(pointer, count).Memory, new PointerMemory<int>(slots, scratch.Length).Memory,
                    masks, format, generator, chunkElements, segmentElements, options?.Timeout ?? communicator.DefaultTimeout, observeSent);
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
    /// (<see cref="AddMasksPrefetching"/>): two ranks' vectors then no longer fit the shared L3, and the tiles come
    /// from memory. Below it prefetching cost time: on 2 ranks of a Zen 4 host, 14 % at 4 MiB and 20 % at 1 MiB, the
    /// same at 8 MiB, 4-5 % faster at 16 MiB, 10 % at 32 and 64 MiB (benchmarks/RESULTS-federated.md, "maskspeed 9";
    /// from 4 MiB with L1 prefetches it had been 2 to 3 % faster at 64 MiB on a Zen 5 host, "maskspeed 6").
    /// </summary>
    internal const long PrefetchFromBytes = 16L << 20;

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
        private readonly Memory<float> _data;
        private readonly Memory<int> _slots;
        private readonly RingMaskPlan _masks;
        private readonly FixedPointFormat _format;
        private readonly MaskGenerator _generator;
        private readonly int _n, _rank, _left, _right, _chunkElements, _segmentElements, _segments, _total;
        private readonly TimeSpan _timeout;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly SentSegmentObserver? _observeSent;
        private readonly Request?[] _sends;
        private readonly Request?[] _receives = new Request?[ReceivesInFlight];
        /// <summary>The reduce-scatter receives' loans where the transport lends the sender's buffer (<see cref="_borrow"/>).</summary>
        private readonly IReceiveLoan?[] _loans = new IReceiveLoan?[ReceivesInFlight];
        /// <summary>
        /// Where the transport lends the sender's buffer (in-process: <see cref="Communicator.TryIrecvLoan"/>): the
        /// rank reads its own floats and the neighbour's masked integers in one pass on its own thread,
        /// Q(x) + masks + received, and writes the sum once (at the last step dequantized). Against the transport's
        /// receive-reduce that it replaces ("maskspeed 4"), the own segment is no longer written as masked integers and
        /// read back by the add: one read and one write of every own element less (benchmarks/RESULTS-federated.md,
        /// "maskspeed 7").
        /// The neighbour's thread never touches this rank's memory during reduce-scatter.
        /// </summary>
        private readonly bool _borrow;
        /// <summary>
        /// Two ranks on the lent path: the reduce step writes each final tile also into the lent buffer, which is the
        /// neighbour's own copy of the same chunk (it sent that chunk from its vector), and the all-gather is skipped:
        /// the neighbour's send completes when the loan is returned, that is after its chunk holds the sum. Saves the
        /// all-gather's pass (a read and a write of half the vector per rank) and its rendezvous. Only the sum, which
        /// every rank gets anyway, is written into the neighbour's memory. With more ranks the all-gather flows the
        /// other way round the ring (to the right), so this applies to two ranks only.
        /// </summary>
        private readonly bool _gatherByWriteBack;

        public Pipeline(Communicator comm, Memory<float> data, Memory<int> slots, RingMaskPlan masks, FixedPointFormat format,
            MaskGenerator generator, int chunkElements, int segmentElements, TimeSpan timeout, SentSegmentObserver? observeSent)
        {
            _comm = comm;
            _data = data;
            _borrow = comm.LendsUserSends;
            _slots = slots;
            _masks = masks;
            _format = format;
            _generator = generator;
            _n = comm.Size;
            _rank = comm.Rank;
            _left = (_rank - 1 + _n) % _n;
            _right = (_rank + 1) % _n;
            _chunkElements = chunkElements;
            _segmentElements = segmentElements;
            _segments = Math.Max(1, (chunkElements + segmentElements - 1) / segmentElements);
            _gatherByWriteBack = _borrow && _n == 2;
            _total = (_gatherByWriteBack ? 1 : 2) * (_n - 1) * _segments;
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
                if (step == 0) Reduce(_data.Span, integers, start, length, _masks.ForChunk(SendChunk(step)), _format, _generator, ReadOnlySpan<int>.Empty, final: false);
                _observeSent?.Invoke(step, start, integers.Slice(start, length));
            }
            // Integers during reduce-scatter, floats (the total) during all-gather: the same four bytes an element. On the
            // two-rank write-back path the neighbour stores the sum into this very segment before it returns the loan.
            // (TryIsendLent is null only where the transport does not lend, and then this path is not taken.)
            _sends[item] = _gatherByWriteBack
                ? _comm.TryIsendLent(_data.Slice(start, length), _right, Tag)!
                : _comm.Isend<float>(_data.Slice(start, length), _right, Tag);
        }

        private void PostReceive(int item)
        {
            int step = Step(item), slot = item % ReceivesInFlight;
            var (start, length) = Segment(ReceiveChunk(step), item % _segments, _chunkElements, _segmentElements, _data.Length);
            _receives[slot] = null;
            if (length == 0) return;
            if (IsReduceStep(step))
            {
                if (_borrow)
                {
                    // Nothing to prepare: the own floats are read when the neighbour's segment is (FinishReceive).
                    _loans[slot] = _comm.TryIrecvLoan((long)length * sizeof(int), _left, Tag)
                        ?? throw new InvalidOperationException($"rank {_rank}: the transport said it lends its senders' buffers but refused the receive of step {step}.");
                    _receives[slot] = _loans[slot]!.Request;
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
            var loan = _loans[slot];
            _loans[slot] = null;
            try
            {
                Finish(item, step, slot, status, loan);
            }
            finally
            {
                loan?.Return();   // the neighbour's send completes only now: its buffer was read until here
            }
        }

        private void Finish(int item, int step, int slot, MessageStatus status, IReceiveLoan? loan)
        {
            var (start, length) = Segment(ReceiveChunk(step), item % _segments, _chunkElements, _segmentElements, _data.Length);
            if (status.ByteCount != (long)length * sizeof(int))
                throw new PrivacyException($"rank {_rank}: the masked ring AllReduce received {status.ByteCount} bytes from rank {_left} at step {step}, segment {item % _segments}, where {length * sizeof(int)} were expected: the ranks passed vectors of different lengths.");
            if (!IsReduceStep(step)) return;
            if (loan is not null)
            {
                bool final = step == _n - 2;
                if (final && _gatherByWriteBack && !loan.Writable)
                    throw new PrivacyException($"rank {_rank}: the masked ring AllReduce's segment {item % _segments} from rank {_left} was not sent as a writable loan, so its sum cannot be written back: the ranks do not run the same masked ring.");
                Reduce(_data.Span, MemoryMarshal.Cast<float, int>(_data.Span), start, length, _masks.ForChunk(ReceiveChunk(step)), _format, _generator,
                    new ReadOnlySpan<int>(loan.Payload, length), final, writeBack: final && _gatherByWriteBack);
                return;
            }
            Reduce(_data.Span, MemoryMarshal.Cast<float, int>(_data.Span), start, length, _masks.ForChunk(ReceiveChunk(step)), _format, _generator,
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
            // Loans first: the neighbour's TryCancel of its lent send waits (bounded) until this rank returns it, and
            // this rank's own TryCancel below may wait for the neighbour likewise; again after, for one that matched meanwhile.
            foreach (var loan in _loans) loan?.Return();
            foreach (var request in _sends.Concat(_receives))
                if (request is { IsCompleted: false }) request.TryCancel();
            foreach (var loan in _loans) loan?.Return();
        }
    }

    /// <summary>target[i] += source[i] over int32 with wrap-around (mod 2^32, the masks' group).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AddWrapping(int* target, int* source, int count)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= count; i += 16)
                (Vector512.Load(target + i) + Vector512.Load(source + i)).Store(target + i);
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= count; i += 8)
                (Vector256.Load(target + i) + Vector256.Load(source + i)).Store(target + i);
        for (; i < count; i++) target[i] = unchecked(target[i] + source[i]);
    }

    /// <summary>
    /// In place over [start, start + length): q = Q(x) + this rank's masks (+ received, when given); with
    /// <paramref name="final"/> the integers are dequantized back into the floats' memory. Tile by tile, so each
    /// element is loaded from memory once and stored once. <paramref name="writeBack"/> (final, with received): each
    /// dequantized tile is also stored over the received one, which is a lent buffer (the two-rank all-gather).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void Reduce(Span<float> data, Span<int> integers, int start, int length, MaskPeer[] peers,
        FixedPointFormat format, MaskGenerator generator, ReadOnlySpan<int> received, bool final, bool writeBack = false)
    {
        if (writeBack && (!final || received.IsEmpty)) throw new ArgumentException("writeBack applies to the final step with received integers only.", nameof(writeBack));
        float clip = format.ClipRange, scale = format.Scale, inverse = 1f / format.Scale;
        bool prefetch = (long)data.Length * sizeof(float) >= PrefetchFromBytes;
        var addDequantize = DequantizingAdd.For(format.FractionalBits);
        fixed (int* q0 = integers)
        fixed (int* r0 = received)
        {
            for (int offset = 0; offset < length; offset += TileElements)
            {
                int at = start + offset, tile = Math.Min(TileElements, length - offset);
                var q = integers.Slice(at, tile);
                VectorQuantizer.Quantize(data.Slice(at, tile), q, clip, scale);
                // No peers: a chunk this rank adds no mask to (RingMaskPlan.SkipsPathNeighbours), only quantized and summed.
                if (peers.Length > 0)
                {
                    if (prefetch)
                        AddMasksPrefetching(generator, integers, at, tile, peers, data, at + tile, Math.Min(TileElements, start + length - (at + tile)),
                            received.IsEmpty ? null : r0 + offset + tile);
                    else MaskStreams.AddMasks(generator, integers, at, tile, peers);
                }
                // The received integers are added while the tile is in L1; at the last step the sum is dequantized in
                // the same pass (DequantizingAdd), so the total is never read back as integers.
                if (received.IsEmpty) { if (final) Dequantize(q, data.Slice(at, tile), inverse); }
                else if (final)
                {
                    addDequantize(q0 + at, r0 + offset, (long)tile * sizeof(int));
                    // From L1 into the lent lines this tile just read: the neighbour's chunk gets the sum.
                    if (writeBack) Buffer.MemoryCopy(q0 + at, r0 + offset, (long)tile * sizeof(int), (long)tile * sizeof(int));
                }
                else AddWrapping(q0 + at, r0 + offset, tile);
            }
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
    /// Where the tile adds received integers (<paramref name="nextReceived"/>, the next tile's, or null), those lines
    /// are prefetched beside the floats: on the lent path they are the neighbour's, also coming from memory.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AddMasksPrefetching(MaskGenerator generator, Span<int> integers, int at, int length, MaskPeer[] peers,
        Span<float> data, int next, int nextLength, int* nextReceived)
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
                for (; prefetched < upTo; prefetched++) Prefetch(first, (byte*)nextReceived, prefetched * line);
            }
            for (; prefetched < lines; prefetched++) Prefetch(first, (byte*)nextReceived, prefetched * line);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Prefetch(byte* floats, byte* received, long offset)
    {
        // Into L2, not L1: the next tile's floats and lent integers (32 KiB) would evict the tile being masked from a
        // 32 KiB L1 (Zen 4). Into L1 the call at 64 MiB was 8 % slower than with no prefetching at all ("maskspeed 9").
        System.Runtime.Intrinsics.X86.Sse.Prefetch1(floats + offset);
        if (received != null) System.Runtime.Intrinsics.X86.Sse.Prefetch1(received + offset);
    }

    /// <summary>output[i] = q[i] x 2^-f: int to float rounds once (to nearest) and the power of two is exact, so this
    /// equals the kernels' (float)(q / (double)scale) bit for bit. output may be q's own memory.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
