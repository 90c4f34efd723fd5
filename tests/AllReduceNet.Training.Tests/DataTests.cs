using System.Buffers.Binary;
using System.IO.Compression;
using AllReduceNet.Training.Data;

namespace AllReduceNet.Training.Tests;

public class DataTests
{
    private static void WriteGz(string path, byte[] content)
    {
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        gzip.Write(content);
    }

    private static byte[] Images(int count, int rows, int cols, int magic = 0x803, int? keep = null)
    {
        var bytes = new byte[16 + count * rows * cols];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), cols);
        for (int i = 16; i < bytes.Length; i++) bytes[i] = (byte)(i * 7);
        return keep is int k ? bytes[..k] : bytes;
    }

    private static byte[] Labels(int count, int magic = 0x801)
    {
        var bytes = new byte[8 + count];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        for (int i = 0; i < count; i++) bytes[8 + i] = (byte)(i % 10);
        return bytes;
    }

    private static void WriteSet(TempDirectory dir, byte[] trainImages, byte[]? trainLabels = null)
    {
        WriteGz(dir.File("train-images-idx3-ubyte.gz"), trainImages);
        WriteGz(dir.File("train-labels-idx1-ubyte.gz"), trainLabels ?? Labels(6));
        WriteGz(dir.File("t10k-images-idx3-ubyte.gz"), Images(3, 2, 2));
        WriteGz(dir.File("t10k-labels-idx1-ubyte.gz"), Labels(3));
    }

    [Fact]
    public void Loads_idx_files_scaled_to_unit_range()
    {
        using var dir = new TempDirectory();
        WriteSet(dir, Images(6, 2, 2));
        var data = FashionMnist.Load(dir.Path);
        Assert.Equal(6, data.Train.Count);
        Assert.Equal(4, data.Train.Features);
        Assert.Equal(3, data.Test.Count);
        Assert.True(MathF.Abs(data.Train.Inputs.Average()) < 1e-5f, "training pixels are not centred");
        Assert.Equal([0, 1, 2, 3, 4, 5], data.Train.Labels);
    }

    [Fact]
    public void Bad_magic_names_the_file()
    {
        using var dir = new TempDirectory();
        WriteSet(dir, Images(6, 2, 2, magic: 0x801));
        var error = Assert.Throws<TrainingException>(() => FashionMnist.Load(dir.Path));
        Assert.Contains("train-images-idx3-ubyte.gz", error.Message);
        Assert.Contains("magic", error.Message);
        Assert.Contains("apt-get install dataset-fashion-mnist", error.Message);
    }

    [Fact]
    public void Truncated_images_name_the_file()
    {
        using var dir = new TempDirectory();
        WriteSet(dir, Images(6, 2, 2, keep: 30));
        var error = Assert.Throws<TrainingException>(() => FashionMnist.Load(dir.Path));
        Assert.Contains("train-images-idx3-ubyte.gz", error.Message);
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void Not_gzip_names_the_file()
    {
        using var dir = new TempDirectory();
        WriteSet(dir, Images(6, 2, 2));
        File.WriteAllBytes(dir.File("train-labels-idx1-ubyte.gz"), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        var error = Assert.Throws<TrainingException>(() => FashionMnist.Load(dir.Path));
        Assert.Contains("train-labels-idx1-ubyte.gz", error.Message);
    }

    [Fact]
    public void Mismatched_counts_name_both_files()
    {
        using var dir = new TempDirectory();
        WriteSet(dir, Images(6, 2, 2), Labels(5));
        var error = Assert.Throws<TrainingException>(() => FashionMnist.Load(dir.Path));
        Assert.Contains("train-images-idx3-ubyte.gz", error.Message);
        Assert.Contains("train-labels-idx1-ubyte.gz", error.Message);
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        using var dir = new TempDirectory();
        WriteSet(dir, Images(6, 2, 2));
        File.Delete(dir.File("t10k-labels-idx1-ubyte.gz"));
        var error = Assert.Throws<TrainingException>(() => FashionMnist.Load(dir.Path));
        Assert.Contains("t10k-labels-idx1-ubyte.gz", error.Message);
        Assert.Contains("does not exist", error.Message);
    }

    [Theory]
    [InlineData(100, 10, 3)]
    [InlineData(100, 7, 4)]
    [InlineData(53, 9, 9)]
    public void Shards_partition_each_global_batch_and_all_ranks_agree(int samples, int batch, int workers)
    {
        var a = new EpochSampler(samples, batch, seed: 4, epoch: 2);
        var b = new EpochSampler(samples, batch, seed: 4, epoch: 2);
        Assert.Equal(samples / batch, a.StepCount);
        var seen = new HashSet<int>();
        for (int step = 0; step < a.StepCount; step++)
        {
            var union = new List<int>();
            for (int w = 0; w < workers; w++)
            {
                var shard = a.Shard(step, w, workers).ToArray();
                Assert.InRange(shard.Length, batch / workers, batch / workers + 1);
                Assert.Equal(shard, b.Shard(step, w, workers).ToArray());
                union.AddRange(shard);
            }
            Assert.Equal(a.Batch(step).ToArray(), union);
            foreach (int s in union) Assert.True(seen.Add(s), $"sample {s} appears twice in one epoch");
        }
    }

    [Fact]
    public void Each_epoch_has_its_own_order()
    {
        var first = new EpochSampler(1000, 1000, seed: 4, epoch: 0).Batch(0).ToArray();
        var second = new EpochSampler(1000, 1000, seed: 4, epoch: 1).Batch(0).ToArray();
        Assert.NotEqual(first, second);
        Assert.Equal(Enumerable.Range(0, 1000), first.Order());
    }
}
