using System.Numerics.Tensors;

namespace AllReduceNet.Kernels.Cpu;

/// <summary>
/// The SIMD CPU backend: TensorPrimitives for the arithmetic, persistent helper threads (or Parallel.For) over fixed blocks for the cores. Blocks are
/// cut the same way whatever the scheduling, and every reduction runs in a fixed order inside its block, so results
/// are deterministic, and the same whatever the number of threads. The kernel families live in the partial files
/// beside this one.
/// </summary>
internal sealed partial class CpuBackend : KernelBackendBase
{
    private readonly ParallelOptions _parallel;
    private readonly KernelWorkers? _workers;

    /// <summary>A backend whose kernels use at most <paramref name="maxThreads"/> threads each (1: the calling thread only).</summary>
    public CpuBackend(int maxThreads)
    {
        MaxThreads = maxThreads;
        _parallel = new ParallelOptions { MaxDegreeOfParallelism = maxThreads };
        // The matrix products' fork/join: helpers that stay awake between the kernels of a step.
        _workers = maxThreads > 1 ? new KernelWorkers(maxThreads - 1) : null;
    }

    /// <summary>The persistent helper threads of the matrix products, or null on one thread.</summary>
    internal KernelWorkers? Workers => _workers;

    /// <summary>The most threads one kernel call uses.</summary>
    internal int MaxThreads { get; }

    /// <summary>Elements per parallel block for streaming kernels: 8K floats = 32 KiB, small enough that the
    /// several TensorPrimitives passes over one block hit L1/L2 and memory is read once.</summary>
    internal const int BlockSize = 8192;

    public override string Name => "cpu";

    public override void Synchronize() => ThrowIfDisposed();

    protected override DeviceBuffer<T> AllocateCore<T>(int length) => new CpuBuffer<T>(this, length);

    protected override bool Owns<T>(DeviceBuffer<T> buffer) => buffer is CpuBuffer<T> b && ReferenceEquals(b.Backend, this);

    protected override void DisposeCore() => _workers?.Dispose();

    internal static T[] A<T>(DeviceBuffer<T> buffer) where T : unmanaged => ((CpuBuffer<T>)buffer).Array;

    /// <summary>Runs <paramref name="body"/>(start, length) over [0, n) cut into blocks of <paramref name="block"/>;
    /// inline when the pass is small (under 64K elements: a few microseconds, less than waking another thread, and
    /// far less than a fork/join whose other thread is descheduled on a contended machine), when there is only one
    /// block or one thread. The blocks are the same either way.</summary>
    internal void ForBlocks(int n, int block, Action<int, int> body)
    {
        int blocks = (int)(((long)n + block - 1) / block);
        if (blocks <= 1 || MaxThreads == 1 || n < InlineElements)
        {
            for (int start = 0; start < n; start += block) body(start, Math.Min(block, n - start));
            return;
        }
        ParallelFor(blocks, b =>
        {
            int start = b * block;
            body(start, Math.Min(block, n - start));
        });
    }

    /// <summary>Passes over fewer elements than this run on the calling thread.</summary>
    internal const int InlineElements = 8 * BlockSize;

    /// <summary>body(0 .. count-1) on the persistent helpers when they are free, else on the thread pool.</summary>
    internal void ParallelFor(int count, Action<int> body)
    {
        if (_workers is null || !_workers.TryFor(count, body)) Parallel.For(0, count, _parallel, body);
    }

    internal override void CopyCore(DeviceBuffer<float> source, int sourceOffset, DeviceBuffer<float> destination, int destinationOffset, int n)
    {
        float[] s = A(source), d = A(destination);
        ForBlocks(n, BlockSize * 4, (start, len) => s.AsSpan(sourceOffset + start, len).CopyTo(d.AsSpan(destinationOffset + start, len)));
    }

    internal override void AddCore(DeviceBuffer<float> accumulator, int accumulatorOffset, DeviceBuffer<float> addend, int addendOffset, int n)
    {
        float[] acc = A(accumulator), add = A(addend);
        ForBlocks(n, BlockSize, (start, len) =>
        {
            var a = acc.AsSpan(accumulatorOffset + start, len);
            TensorPrimitives.Add(a, add.AsSpan(addendOffset + start, len), a);
        });
    }

    internal override void ScaleCore(DeviceBuffer<float> buffer, int offset, int n, float factor)
    {
        float[] x = A(buffer);
        ForBlocks(n, BlockSize, (start, len) =>
        {
            var s = x.AsSpan(offset + start, len);
            TensorPrimitives.Multiply(s, factor, s);
        });
    }
}
