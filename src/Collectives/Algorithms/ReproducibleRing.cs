using AllReduceNet.Collectives.Operators;

namespace AllReduceNet.Collectives.Algorithms;

/// <summary>
/// The reproducible float sum with its conversions inside the ring (as the masked ring fuses its quantization), so
/// that they cost no pass over the vector of their own: the unfused path quantizes the whole vector into 64-bit
/// integers, runs a ReduceScatter of those, converts its shard back and gathers floats, about 28 bytes of memory
/// traffic per float where the plain ring moves about 12.
/// <para>
/// Vocabulary as in <see cref="RingPipeline"/>: a chunk is one rank's 1/N share (<see cref="ChunkLayout"/>), a
/// segment the unit in flight. Reduce-scatter, steps s = 0..N-2: rank r sends segment j of chunk r-s-1 to rank r+1
/// and receives segment j of chunk r-s-2 from rank r-1 into a scratch slot. At step 0 what travels is the rank's own
/// addend, raw floats straight from the caller's buffer (with one addend per rank; several are quantized and summed
/// into integers first): the receiver quantizes them itself, which gives the same integers. A received segment is
/// combined in one pass with this rank's quantized addends: into 64-bit partial sums that the next step sends on, or,
/// at the last step (s = N-2, chunk r), straight into the result's floats. The all-gather of those floats is the
/// ring's own (<see cref="RingPipeline"/>, all-gather half). So at 2 ranks the wire carries exactly the ring's bytes,
/// and 64-bit integers travel only between ranks of longer rings, for N-2 of the 2(N-1) steps.
/// </para>
/// <para>
/// The integer sum of a chunk is exact, so its bits are those of <see cref="ReproducibleSum"/>'s unfused path (and of
/// every algorithm, segment size and rank count); the tests compare the two. Float only: doubles take the unfused path.
/// </para>
/// </summary>
internal static unsafe class ReproducibleRing
{
    private const int ReceivesInFlight = 2;

    /// <summary>
    /// Runs the fused ring: <paramref name="result"/> receives the reproducible sum of all ranks' addends
    /// (<paramref name="addendCount"/> vectors of <paramref name="count"/> floats one after the other at
    /// <paramref name="addends"/>, which may be <paramref name="result"/> itself when there is one), with the block
    /// exponents <paramref name="head"/> agreed on by all ranks. <paramref name="accumulators"/> holds count longs.
    /// Non-finite addends count as 0 here (the caller applies them).
    /// </summary>
    public static void Run(in CollectiveCall call, float* addends, int addendCount, float* result, long count, ReadOnlySpan<int> head, long* accumulators)
    {
        int n = call.Size;
        // Chunks and segments are cut at block boundaries, so that each block's values meet at one rank.
        var layout = new ChunkLayout(count, n, ReproducibleSum.BlockElements);
        if (n == 1)
        {
            FixedPointBlocks.Combine(addends, addendCount, count, head, 0, count, null, null, null, result);
            return;
        }
        if (layout.MaxLength == 0) return;
        bool floatsFirst = addendCount == 1;
        // A segment holds as many elements as the plain ring's (the segment size counted in floats), so the ring makes
        // as many rendezvous as the plain one; 64-bit messages are twice as long.
        long blocksPerSegment = Math.Max(1, call.SegmentBytes / sizeof(float) / ReproducibleSum.BlockElements);
        long segmentElements = Math.Min(layout.MaxLength, blocksPerSegment * ReproducibleSum.BlockElements);
        int segments = (int)((layout.MaxLength + segmentElements - 1) / segmentElements);
        var slots = (long*)call.Slots(ReceivesInFlight * segmentElements * sizeof(long));
        var ring = new Ring(call, addends, addendCount, result, count, accumulators, slots, layout, segmentElements, segments, floatsFirst);
        int total = (n - 1) * segments;
        try
        {
            for (int j = 0; j < segments; j++) ring.Send(j, head);
            for (int k = 0; k < Math.Min(ReceivesInFlight, total); k++) ring.PostReceive(k);
            for (int k = 0; k < total; k++)
            {
                ring.FinishReceive(k, head);
                if (k + segments < total) ring.Send(k + segments, head);
                if (k + ReceivesInFlight < total) ring.PostReceive(k + ReceivesInFlight);
            }
            // The all-gather writes chunks that step 0 sent from (in place): every send must be done first.
            ring.WaitSends();
            ring.Recycle();
        }
        catch
        {
            ring.Withdraw();
            throw;
        }
        finally
        {
            ring.Release();
        }
        RingPipeline.Run<float, SumOperator<float>>(call, result, layout, reduceScatter: false, allGather: true);
    }

    private struct Ring
    {
        private readonly CollectiveCall _call;
        private readonly float* _addends, _result;
        private readonly long* _accumulators, _slots;
        private readonly int _addendCount, _segments, _total, _n, _rank, _left, _right;
        private readonly long _count, _segmentElements;
        private readonly ChunkLayout _layout;
        private readonly bool _floatsFirst;
        private readonly PostedRequests _requests;   // [0, total): sends by item; then one per receive slot
        private fixed long _expectedBytes[ReceivesInFlight];

        public Ring(in CollectiveCall call, float* addends, int addendCount, float* result, long count, long* accumulators, long* slots,
            ChunkLayout layout, long segmentElements, int segments, bool floatsFirst)
        {
            _call = call;
            _addends = addends;
            _addendCount = addendCount;
            _result = result;
            _count = count;
            _accumulators = accumulators;
            _slots = slots;
            _layout = layout;
            _segmentElements = segmentElements;
            _segments = segments;
            _floatsFirst = floatsFirst;
            _n = call.Size;
            _rank = call.Rank;
            _left = (_rank - 1 + _n) % _n;
            _right = (_rank + 1) % _n;
            _total = (_n - 1) * segments;
            _requests = new PostedRequests(_total + ReceivesInFlight);
        }

        private int Step(int item) => item / _segments;

        private int Mod(int x) => ((x % _n) + _n) % _n;

        /// <summary>The slice of a chunk that one segment covers; empty past the chunk's end.</summary>
        private void Segment(int chunk, int item, out long offset, out long length)
        {
            long start = (item % _segments) * _segmentElements;
            offset = _layout.Offset(chunk) + start;
            length = Math.Clamp(_layout.Length(chunk) - start, 0, _segmentElements);
        }

        /// <summary>Whether what travels at <paramref name="step"/> is raw floats (the sender's one addend) rather than 64-bit partial sums.</summary>
        private bool FloatsAt(int step) => step == 0 && _floatsFirst;

        public void Send(int item, ReadOnlySpan<int> head)
        {
            int step = Step(item);
            Segment(Mod(_rank - step - 1), item, out long offset, out long length);
            if (length == 0) return;
            if (FloatsAt(step))
            {
                _requests[item] = _call.Send(_addends + offset, length * sizeof(float), _right);
                return;
            }
            // Step 0 with several (or no) addends: this rank's own partial sum, quantized now. Later steps send what
            // FinishReceive left in the accumulators.
            if (step == 0)
                FixedPointBlocks.Combine(_addends, _addendCount, _count, head, offset, length, null, null, _accumulators + offset, null);
            _requests[item] = _call.Send(_accumulators + offset, length * sizeof(long), _right);
        }

        public void PostReceive(int item)
        {
            int step = Step(item), slot = item % ReceivesInFlight;
            Segment(Mod(_rank - step - 2), item, out _, out long length);
            ref Request? receive = ref _requests[_total + slot];
            _expectedBytes[slot] = length * (FloatsAt(step) ? sizeof(float) : sizeof(long));
            receive = length == 0 ? null : _call.Receive(_slots + slot * _segmentElements, _expectedBytes[slot], _left);
        }

        public void FinishReceive(int item, ReadOnlySpan<int> head)
        {
            int step = Step(item), slot = item % ReceivesInFlight;
            ref Request? receive = ref _requests[_total + slot];
            if (receive is null) return;
            _call.WaitReceive(receive, _expectedBytes[slot]);
            _call.Recycle(receive);
            receive = null;
            Segment(Mod(_rank - step - 2), item, out long offset, out long length);
            long* received = _slots + slot * _segmentElements;
            bool last = step == _n - 2;
            FixedPointBlocks.Combine(_addends, _addendCount, _count, head, offset, length,
                FloatsAt(step) ? (float*)received : null, FloatsAt(step) ? null : received,
                last ? null : _accumulators + offset, last ? _result + offset : null);
        }

        public void WaitSends() => _requests.WaitSends(_call, _total);

        public void Withdraw() => _requests.Withdraw();

        public void Recycle() => _requests.Recycle(_call);

        public void Release() => _requests.Release();
    }
}
