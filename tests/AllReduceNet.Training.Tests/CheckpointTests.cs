using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Optim;

namespace AllReduceNet.Training.Tests;

public class CheckpointTests
{
    private static Checkpoint Sample(OptimizerKind kind = OptimizerKind.Adam)
    {
        int[] sizes = [5, 4, 3];
        int p = (int)CheckpointFile.ParameterCount(sizes);
        var random = new Random(5);
        float[] Vector() => Enumerable.Range(0, p).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        var slots = Enumerable.Range(0, kind == OptimizerKind.Adam ? 2 : 1).Select(_ => Vector()).ToArray();
        return new Checkpoint(sizes, 3, 42, kind, 123, Vector(), slots);
    }

    [Theory]
    [InlineData(OptimizerKind.Sgd)]
    [InlineData(OptimizerKind.Adam)]
    public void Round_trip_preserves_every_field(OptimizerKind kind)
    {
        using var dir = new TempDirectory();
        var original = Sample(kind);
        string path = dir.File("sub/model.ckpt");
        CheckpointFile.Write(path, original);
        Assert.False(File.Exists(path + ".tmp"), "the temporary file was left behind");
        var read = CheckpointFile.Read(path);
        Assert.Equal(original.LayerSizes, read.LayerSizes);
        Assert.Equal(original.CompletedEpochs, read.CompletedEpochs);
        Assert.Equal(original.Seed, read.Seed);
        Assert.Equal(original.Optimizer, read.Optimizer);
        Assert.Equal(original.OptimizerSteps, read.OptimizerSteps);
        Assert.Equal(original.Parameters, read.Parameters);
        Assert.Equal(original.OptimizerSlots.Length, read.OptimizerSlots.Length);
        for (int s = 0; s < original.OptimizerSlots.Length; s++) Assert.Equal(original.OptimizerSlots[s], read.OptimizerSlots[s]);
    }

    [Fact]
    public void Header_layout_matches_the_documented_format()
    {
        var bytes = CheckpointFile.Serialize(Sample(OptimizerKind.Sgd));
        Assert.Equal("ARNCKPT\0"u8.ToArray(), bytes[..8]);
        Assert.Equal(1, BitConverter.ToInt32(bytes, 8));    // version
        Assert.Equal(3, BitConverter.ToInt32(bytes, 12));   // layer size count
        Assert.Equal(5, BitConverter.ToInt32(bytes, 16));
        Assert.Equal(3, BitConverter.ToInt32(bytes, 28));   // completed epochs
        int p = (int)CheckpointFile.ParameterCount([5, 4, 3]);
        Assert.Equal(8 + 4 + 4 + 12 + 16 + 8 + 8 + 4 * p * 2 + 32, bytes.Length);
        Assert.Equal(System.Security.Cryptography.SHA256.HashData(bytes[..^32]), bytes[^32..]);
    }

    [Theory]
    [InlineData(9)]      // version field
    [InlineData(40)]     // header
    [InlineData(200)]    // parameters
    [InlineData(-1)]     // checksum itself
    public void A_flipped_byte_is_refused_naming_the_file(int offset)
    {
        using var dir = new TempDirectory();
        string path = dir.File("damaged.ckpt");
        CheckpointFile.Write(path, Sample());
        var bytes = File.ReadAllBytes(path);
        bytes[offset >= 0 ? offset : bytes.Length + offset] ^= 0x10;
        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<CheckpointException>(() => CheckpointFile.Read(path));
        Assert.Contains(path, error.Message);
        Assert.True(error.Message.Contains("damaged") || error.Message.Contains("version"), error.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(30)]
    [InlineData(300)]
    public void A_truncated_file_is_refused_naming_the_file(int keep)
    {
        using var dir = new TempDirectory();
        string path = dir.File("short.ckpt");
        CheckpointFile.Write(path, Sample());
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..Math.Min(keep, bytes.Length - 1)]);
        var error = Assert.Throws<CheckpointException>(() => CheckpointFile.Read(path));
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void A_missing_file_is_refused_naming_the_file()
    {
        using var dir = new TempDirectory();
        var error = Assert.Throws<CheckpointException>(() => CheckpointFile.Read(dir.File("none.ckpt")));
        Assert.Contains("none.ckpt", error.Message);
        Assert.Contains("does not exist", error.Message);
    }
}
