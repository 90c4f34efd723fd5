namespace AllReduceNet.Kernels.Ilgpu;

/// <summary>
/// Launch shape of the element-wise kernels: a fixed number of threads (enough to fill the device) that walk the
/// buffer in grid-stride loops, <c>for (i = index; i &lt; n; i += stride)</c>. One thread per element would cost a
/// launch of n threads, which ILGPU's CPU accelerator emulates one by one (an SGD step over 4M floats took &gt; 5 s so,
/// against ~30 ms with a grid-stride kernel); on CUDA it also keeps index arithmetic and block scheduling cheap.
/// </summary>
internal struct GridStride
{
    /// <summary>Elements to cover.</summary>
    public long Count;

    /// <summary>Threads launched, and hence the loop step.</summary>
    public int Stride;

    public static GridStride For(long count, int maxThreads) =>
        new() { Count = count, Stride = (int)Math.Max(1, Math.Min(count, maxThreads)) };
}
