using System.Diagnostics;
using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Diagnostics;
using AllReduceNet.Privacy;
using AllReduceNet.Training.Compression;
using AllReduceNet.Training.Model;
using AllReduceNet.Training.Training;

namespace AllReduceNet.Training.Strategies;

/// <summary>
/// The gradient buckets of ddp: one per layer, each a contiguous range of the flat gradient vector, summed across
/// ranks by AllReduce. With overlap (the default) a bucket's AllReduce is started (non-blocking, on the
/// communicator's progress thread) as soon as the backward pass has produced that layer's gradient, so it runs
/// while earlier layers are still being computed; <see cref="EndStep"/> waits for all of them. Buckets start in the
/// same order (last layer first) on every rank, as collectives on one communicator must. Gradients arrive
/// pre-scaled by local rows / global batch (<see cref="LossHead"/>), so the sum is the global-batch gradient.
/// <para>
/// The buckets are the only data that cross between the backend and the host in a step: each layer's gradient goes
/// down once for its AllReduce and its sum comes back up once, into the model's gradient buffers, where the
/// optimizer reads it. With one rank there is nothing to sum and nothing moves. On the CPU backend nothing moves
/// either: the large tensors are summed where they are and the small ones in one vector (<see cref="InPlaceBuckets"/>).
/// </para>
/// <para>
/// With --secure each bucket goes through the <see cref="MaskedAllReduce"/> instead: quantized and masked on the
/// compute thread as soon as it is ready, then summed as integers (started, or blocking with --no-overlap), and
/// dequantized when the step waits for it. No rank sees another rank's gradient; the sum differs from the plain one
/// by at most ranks / 2^(f+1) per element (docs/masked-allreduce.md).
/// </para>
/// <para>
/// With --compress each bucket goes through an <see cref="IGradientCompressor"/> instead (docs/compression.md), as
/// soon as its layer is ready: on the rank's <see cref="CompressionWorker"/> thread with overlap (a compressor may run
/// several collectives per bucket and keeps state between steps, so there is no single collective to start), on
/// the compute thread with --no-overlap.
/// </para>
/// </summary>
internal sealed class GradientBuckets : IDisposable
{
    private readonly StrategyContext _context;
    private readonly Mlp _model;
    private readonly float[] _gradients;
    private readonly bool _overlap;
    private readonly List<CollectiveHandle> _pending = [];
    private readonly MaskedAllReduce? _masked;
    private readonly List<MaskedSumHandle> _maskedPending = [];
    private readonly IGradientCompressor? _compressor;
    private readonly CompressionWorker? _compressionWorker;
    private readonly Func<int, CollectiveOptions> _collectiveFor;
    private readonly InPlaceBuckets? _inPlace;
    private readonly Action<Memory<float>> _sumInPlace;
    private long _uncompressedBytesSent;

    /// <param name="context">The run.</param>
    /// <param name="model">The replica whose gradients are summed.</param>
    /// <param name="collectiveFor">Each layer's bucket AllReduce options; null for the run's (--algorithm) on every
    /// bucket. ddp --reproducible passes the algorithms whose order matches its gradient tree.</param>
    public GradientBuckets(StrategyContext context, Mlp model, Func<int, CollectiveOptions>? collectiveFor = null)
    {
        _context = context;
        _collectiveFor = collectiveFor ?? (_ => context.Collective);
        _model = model;
        _gradients = new float[context.Layout.Count];
        _overlap = context.Settings.Overlap;
        _sumInPlace = tensor => Sum(tensor, context.Collective);   // the run's algorithm: in place only without collectiveFor
        var settings = context.Settings;
        // Collective (a key exchange): every rank builds its buckets at the same point of the run.
        if (settings.Secure && context.World.Size > 1)
            _masked = MaskedAllReduce.Create(context.World, new MaskedAllReduceOptions { ClipRange = settings.SecureClip, Neighbours = settings.SecureNeighbours }, context.Collective);
        if (settings.Compress is { } compress && context.World.Size > 1)
        {
            _compressor = GradientCompressors.Create(compress, context.World, context.Collective, context.Layout, settings.Seed);
            if (_overlap) _compressionWorker = new CompressionWorker(_compressor, context.World.Rank, context.World.DefaultTimeout);
        }
        // Plain sums of the run's algorithm only: --secure and --compress transform the bucket, and ddp --reproducible's
        // order of addition must not move with the tensors' boundaries.
        if (_masked is null && _compressor is null && collectiveFor is null && context.World.Size > 1) _inPlace = InPlaceBuckets.TryCreate(model);
    }

    /// <summary>Bytes this rank has sent for the buckets so far (counted as <see cref="WireBytes"/> says).</summary>
    public long BytesSent => _compressor?.BytesSent ?? _uncompressedBytesSent;

    /// <summary>The --compress compressor; null without --compress or with one rank (tests).</summary>
    internal IGradientCompressor? Compressor => _compressor;

    /// <summary>The masked AllReduce's format and peers, for the run's description; null without --secure.</summary>
    public string? SecureMode => _masked is { } m
        ? $"secure: masked AllReduce, gradients clipped to [-{m.Format.ClipRange}, {m.Format.ClipRange}], {m.Format.FractionalBits} fractional bits " +
          $"(error <= {m.ErrorBound:E2} per element), masks with {(m.Peers.Count == _context.World.Size - 1 ? "all" : m.Peers.Count.ToString())} peers " +
          (m.LargestSafeCoalition switch
          {
              0 => "(on 2 ranks the sum itself gives each rank the other's gradient)",
              1 => "(no single rank learns anything beyond the sum)",
              int k => $"(coalitions of up to {k} ranks learn nothing beyond the sum)",
          })
        : null;

    public string Mode => _compressor is not null
        ? _compressor.Describe() + (_overlap ? "; on a thread of its own, overlapping the backward pass" : "; blocking, per bucket as each layer's gradient is ready (--no-overlap)")
        : (_overlap
        ? "non-blocking AllReduce started per bucket as soon as its layer's gradient is ready (overlaps the backward pass)"
        : "blocking AllReduce per bucket as each layer's gradient is ready (--no-overlap)")
        + (_inPlace is { } inPlace ? $"; summed in place in the CPU backend's buffers ({inPlace.CollectivesPerStep} collectives a step: each tensor of {InPlaceBuckets.InPlaceElements}+ elements, then the others in one vector)" : "");

    public void BeginStep()
    {
        _inPlace?.BeginStep();
        _pending.Clear();
        _maskedPending.Clear();
    }

    /// <summary>Called by the backward pass when layer <paramref name="layer"/>'s gradient is ready.</summary>
    public void LayerReady(int layer)
    {
        var world = _context.World;
        if (world.Size == 1) return;
        var layout = _context.Layout;
        int offset = layout.LayerOffset(layer), length = layout.LayerLength(layer);
        if (_inPlace is not null)
        {
            _uncompressedBytesSent += WireBytes.AllReduce(length, sizeof(float), world.Size);
            _inPlace.LayerReady(layer, _sumInPlace);
            return;
        }
        _model.ReadLayerGradients(layer, _gradients.AsSpan(offset, length));
        if (_compressionWorker is not null)
        {
            _compressionWorker.Enqueue(layer, _gradients.AsMemory(offset, length));
            return;
        }
        if (_compressor is not null)
        {
            long begin = Stopwatch.GetTimestamp();
            using (Timeline.Span(world, "compressed bucket", "train")) _compressor.Sum(layer, _gradients.AsSpan(offset, length));
            _context.Clock.Add(begin);
            return;
        }
        _uncompressedBytesSent += WireBytes.AllReduce(length, sizeof(float), world.Size);
        if (_masked is not null)
        {
            if (_overlap)
            {
                _maskedPending.Add(_masked.StartSum(_gradients.AsMemory(offset, length), _context.Collective));
                return;
            }
            long begin = Stopwatch.GetTimestamp();
            _masked.Sum(_gradients.AsSpan(offset, length), _context.Collective);
            _context.Clock.Add(begin);
            _context.Phases.Add(TrainingPhase.AllReduceWait, begin);
            return;
        }
        Sum(_gradients.AsMemory(offset, length), _collectiveFor(layer));
    }

    /// <summary>Sums <paramref name="bucket"/> in place across the ranks: started (overlap) or blocking.</summary>
    private void Sum(Memory<float> bucket, CollectiveOptions options)
    {
        var world = _context.World;
        if (_overlap)
        {
            _pending.Add(world.StartAllReduce(bucket, ReduceOp.Sum, options));
            return;
        }
        long start = Stopwatch.GetTimestamp();
        using (Timeline.Span(world, "bucket AllReduce", "train")) world.AllReduce(bucket.Span, ReduceOp.Sum, options);
        _context.Clock.Add(start);
        _context.Phases.Add(TrainingPhase.AllReduceWait, start);
    }

    /// <summary>Waits for all buckets (the time blocked here is the communication the backward pass did not hide) and
    /// puts the summed gradients back into the model.</summary>
    public void EndStep()
    {
        long start = Stopwatch.GetTimestamp();
        // With overlap the buckets' AllReduce runs on the communicator's progress thread (its own events); this span is
        // the part the backward pass did not hide.
        using (Timeline.Span(_context.World, "bucket AllReduce", "train"))
        {
            foreach (var handle in _pending) handle.Wait();
            _pending.Clear();
            foreach (var handle in _maskedPending) handle.Wait();
            _maskedPending.Clear();
            _compressionWorker?.WaitAll();
        }
        _context.Clock.Add(start);
        _context.Phases.Add(TrainingPhase.AllReduceWait, start);
        if (_context.World.Size == 1) return;
        if (_inPlace is not null)
        {
            _inPlace.EndStep();
            return;
        }
        var layout = _context.Layout;
        for (int l = 0; l < layout.LayerCount; l++)
            _model.WriteLayerGradients(l, _gradients.AsSpan(layout.LayerOffset(l), layout.LayerLength(l)));
    }

    public void Dispose() => _compressionWorker?.Dispose();
}
