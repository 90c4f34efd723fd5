using System.Numerics.Tensors;
using AllReduceNet.Collectives;

namespace AllReduceNet.Training.Compression;

/// <summary>
/// --compress fp16: each bucket is converted to IEEE half precision and summed by the ordinary AllReduce in
/// <see cref="Half"/> (each partial sum rounded to half, as PyTorch's fp16_compress_hook over NCCL does), then
/// converted back. Half the bytes of fp32. Half's range ends at 65504 and its normal numbers at 6.1e-5: gradients
/// arrive pre-divided by the global batch, so large sums are rare, and entries under 6e-8 are lost (no error
/// feedback: the loss is a rounding, not a selection). The AllReduce's result is bitwise the same on every rank.
/// </summary>
internal sealed class Fp16Compressor : IGradientCompressor
{
    private readonly Communicator _world;
    private readonly CollectiveOptions _options;
    private readonly Half[] _wire;
    private long _bytesSent;

    public Fp16Compressor(Communicator world, CollectiveOptions options, int largestBucket)
    {
        _world = world;
        _options = options;
        _wire = new Half[largestBucket];
    }

    public long BytesSent => _bytesSent;

    public string Describe() => "compress fp16: buckets summed by AllReduce in IEEE half precision (2 bytes an entry)";

    public void Sum(int layer, Span<float> bucket)
    {
        var wire = _wire.AsSpan(0, bucket.Length);
        TensorPrimitives.ConvertToHalf(bucket, wire);
        _world.AllReduce(wire, ReduceOp.Sum, _options);
        TensorPrimitives.ConvertToSingle(wire, bucket);
        _bytesSent += WireBytes.AllReduce(bucket.Length, 2, _world.Size);
    }
}
