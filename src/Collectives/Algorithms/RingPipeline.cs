using AllReduceNet.Collectives.Operators;

namespace AllReduceNet.Collectives.Algorithms;

/// <summary>
/// The ring that AllReduce, ReduceScatter and AllGather share. Vocabulary: a <em>chunk</em> is one rank's 1/N share
/// of the buffer; a <em>segment</em> is the unit in flight, a slice of a chunk.
/// <para>
/// Reduce-scatter, steps s = 0..N-2: rank r sends chunk (r-s-1) to its right neighbour and receives chunk (r-s-2)
/// from its left, reducing it into its own copy. After N-1 steps rank r holds the final value of chunk r, reduced
/// once, in ring order. All-gather, steps t = 0..N-2: rank r sends chunk (r-t) and receives chunk (r-t-1), which it
/// stores and forwards. Each rank sends 2(N-1)/N of the buffer in all: bandwidth-optimal.
/// </para>
/// <para>
/// Pipelining: the (step, segment) pairs are taken in order; a segment is sent on as soon as it was reduced, and
/// two receives are kept posted ahead, so the reduction of one segment overlaps the transfer of the next. A
/// reduce-scatter receive is the receive-reduce primitive (straight from the sender where the transport can, else
/// through one of two scratch slots); an all-gather receive lands in place. All sends and receives are posted
/// non-blocking: no ordering of blocking calls can deadlock.
/// </para>
/// </summary>
internal static unsafe class RingPipeline
{
    private const int ReceivesInFlight = 2;

    /// <summary>Runs the reduce-scatter part, the all-gather part, or both, in place on <paramref name="data"/>.</summary>
    public static void Run<T, TOp>(in CollectiveCall call, T* data, ChunkLayout layout, bool reduceScatter, bool allGather)
        where T : unmanaged where TOp : struct, IReduceOperator<T>
    {
        int n = call.Size;
        if (n == 1 || layout.MaxLength == 0) return;
        long segmentElements = Math.Min(layout.MaxLength, Math.Max(1, call.SegmentBytes / sizeof(T)));
        int segments = (int)Math.Max(1, (layout.MaxLength + segmentElements - 1) / segmentElements);
        int firstStep = reduceScatter ? 0 : n - 1;
        int endStep = allGather ? 2 * n - 2 : n - 1;
        int total = (endStep - firstStep) * segments;

        var ring = new Ring<T, TOp>(call, data, layout, segmentElements, segments, firstStep, total,
            reduceScatter && !call.ReducesOnReceive<T>() ? (T*)call.Slots(ReceivesInFlight * segmentElements * sizeof(T)) : null);
        try
        {
            for (int j = 0; j < segments; j++) ring.Send(j);
            for (int k = 0; k < Math.Min(ReceivesInFlight, total); k++) ring.PostReceive(k);
            for (int k = 0; k < total; k++)
            {
                ring.FinishReceive(k);
                if (k + segments < total) ring.Send(k + segments);        // forward what was just reduced or stored
                if (k + ReceivesInFlight < total) ring.PostReceive(k + ReceivesInFlight);
            }
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
    }

    private struct Ring<T, TOp> where T : unmanaged where TOp : struct, IReduceOperator<T>
    {
        private readonly CollectiveCall _call;
        private readonly T* _data;
        private readonly T* _slots;
        private readonly ChunkLayout _layout;
        private readonly long _segmentElements;
        private readonly int _segments, _firstStep, _total, _n, _rank, _left, _right;
        private readonly PostedRequests _requests;   // [0, total): sends by item; then one per receive slot
        private PendingReduce<T> _reduce0, _reduce1;  // per receive slot (ReceivesInFlight = 2), for reduce-scatter items
        private fixed long _expectedBytes[ReceivesInFlight];
        private fixed bool _reducing[ReceivesInFlight];
        private fixed bool _deferred[ReceivesInFlight];

        public Ring(in CollectiveCall call, T* data, ChunkLayout layout, long segmentElements, int segments, int firstStep, int total, T* slots)
        {
            _call = call;
            _data = data;
            _slots = slots;
            _layout = layout;
            _segmentElements = segmentElements;
            _segments = segments;
            _firstStep = firstStep;
            _total = total;
            _n = call.Size;
            _rank = call.Rank;
            _left = (_rank - 1 + _n) % _n;
            _right = (_rank + 1) % _n;
            _requests = new PostedRequests(total + ReceivesInFlight);
        }

        private int Step(int item) => _firstStep + item / _segments;

        private bool IsReduceStep(int step) => step < _n - 1;

        private int SendChunk(int step) => Mod(IsReduceStep(step) ? _rank - step - 1 : _rank - (step - (_n - 1)));

        private int ReceiveChunk(int step) => Mod(IsReduceStep(step) ? _rank - step - 2 : _rank - (step - (_n - 1)) - 1);

        private int Mod(int x) => ((x % _n) + _n) % _n;

        /// <summary>The slice of a chunk that one segment covers; empty past the chunk's end.</summary>
        private void Segment(int chunk, int item, out long offset, out long length)
        {
            long start = (item % _segments) * _segmentElements;
            long chunkLength = _layout.Length(chunk);
            offset = _layout.Offset(chunk) + start;
            length = Math.Clamp(chunkLength - start, 0, _segmentElements);
        }

        public void Send(int item)
        {
            Segment(SendChunk(Step(item)), item, out long offset, out long length);
            if (length > 0) _requests[item] = _call.Send(_data + offset, length * sizeof(T), _right);
        }

        /// <summary>
        /// Posts the receive of an item, or, for an all-gather item whose region is still being sent from, defers it
        /// to <see cref="FinishReceive"/>: waiting for that send here would hold up the reduction of earlier items.
        /// </summary>
        public void PostReceive(int item, bool mayDefer = true)
        {
            int step = Step(item);
            // Receives from one source must be posted in item order (they match messages first come, first
            // served), so once one is deferred the next is deferred too.
            if (mayDefer && (_deferred[(item + 1) % ReceivesInFlight] || (!IsReduceStep(step) && _firstStep == 0
                && _requests[(step - (_n - 1)) * _segments + item % _segments] is { IsCompleted: false })))
            {
                _deferred[item % ReceivesInFlight] = true;
                return;
            }
            int slot = item % ReceivesInFlight;
            Segment(ReceiveChunk(step), item, out long offset, out long length);
            _expectedBytes[slot] = length * sizeof(T);
            _reducing[slot] = false;
            ref Request? receive = ref _requests[_total + slot];
            if (length == 0) { receive = null; return; }
            if (IsReduceStep(step))
            {
                var pending = _call.PostReceiveReduce<T, TOp>(_data + offset, length, _left, _slots + slot * _segmentElements);
                if (slot == 0) _reduce0 = pending; else _reduce1 = pending;
                _reducing[slot] = true;
                receive = pending.Request;
                return;
            }
            // All-gather overwrites a chunk this rank sent during reduce-scatter at the same step index: that send
            // must be done before the region is written.
            if (_firstStep == 0) _call.WaitSend(_requests[(step - (_n - 1)) * _segments + item % _segments]);
            receive = _call.Receive(_data + offset, length * sizeof(T), _left);
        }

        public void FinishReceive(int item)
        {
            int slot = item % ReceivesInFlight;
            if (_deferred[slot])
            {
                _deferred[slot] = false;
                PostReceive(item, mayDefer: false);
            }
            ref Request? receive = ref _requests[_total + slot];
            if (_reducing[slot])
            {
                _call.FinishReceiveReduce<T, TOp>(slot == 0 ? _reduce0 : _reduce1);
            }
            else
            {
                _call.WaitReceive(receive, _expectedBytes[slot]);
                _call.Recycle(receive);
            }
            receive = null;
        }

        public void WaitSends() => _requests.WaitSends(_call, _total);

        /// <summary>After a failure: take back what is still posted (<see cref="PostedRequests.Withdraw"/>).</summary>
        public void Withdraw() => _requests.Withdraw();

        /// <summary>After success: the transport may reuse every request.</summary>
        public void Recycle() => _requests.Recycle(_call);

        public void Release() => _requests.Release();
    }
}
