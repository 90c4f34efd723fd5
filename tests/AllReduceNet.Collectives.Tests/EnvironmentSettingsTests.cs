namespace AllReduceNet.Collectives.Tests;

/// <summary>Settings are read and checked together; a bad value names the variable, the value and what is allowed.</summary>
public class EnvironmentSettingsTests
{
    private static EnvironmentSettings Read(params (string Name, string Value)[] variables) =>
        new(name => variables.FirstOrDefault(v => v.Name == name).Value);

    [Theory]
    [InlineData("ALLREDUCENET_ALGO", "ringg", "one of ring, tree, rd")]
    [InlineData("ALLREDUCENET_TIMEOUT_SECONDS", "-3", "a positive number of seconds")]
    [InlineData("ALLREDUCENET_TIMEOUT_SECONDS", "ten", "a positive number of seconds")]
    [InlineData("ALLREDUCENET_SEGMENT_BYTES", "12", "from 64")]
    [InlineData("ALLREDUCENET_TREE_THRESHOLD_BYTES", "1e3", "a whole number of bytes")]
    [InlineData("ALLREDUCENET_DEBUG", "2", "one of 1, true, yes, on")]
    [InlineData("ALLREDUCENET_MPI_SHM", "maybe", "0, false, no, off")]
    [InlineData("ALLREDUCENET_SHM_SLOTS", "1", "from 2")]
    [InlineData("ALLREDUCENET_FINALIZE_TIMEOUT_SECONDS", "0", "a positive number of seconds")]
    public void ABadValueNamesTheVariableTheValueAndWhatIsAllowed(string variable, string value, string allowed)
    {
        var error = Assert.Throws<EnvironmentSettingException>(() => Read((variable, value)));
        Assert.Equal(variable, error.Variable);
        Assert.Contains($"{variable}='{value}'", error.Message);
        Assert.Contains(allowed, error.Message);
    }

    [Fact]
    public void GoodValuesAreRead()
    {
        var settings = Read(("ALLREDUCENET_ALGO", " Direct "), ("ALLREDUCENET_TIMEOUT_SECONDS", "2.5"), ("ALLREDUCENET_MPI_SHM", "off"),
            ("ALLREDUCENET_SHM_SLOT_BYTES", "1000"), ("ALLREDUCENET_DEBUG", "yes"));
        Assert.Equal(AllReduceAlgorithm.Direct, settings.ForcedAlgorithm);
        Assert.Equal(TimeSpan.FromSeconds(2.5), settings.DefaultTimeout);
        Assert.False(settings.MpiSharedMemory);
        Assert.Equal(960, settings.SharedMemorySlotBytes);
        Assert.True(settings.Debug);
        Assert.Null(Read().SegmentBytes);
        Assert.Equal(TimeSpan.FromSeconds(300), Read().DefaultTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), Read().FinalizeTimeout);
        Assert.Equal(TimeSpan.FromSeconds(4), Read(("ALLREDUCENET_FINALIZE_TIMEOUT_SECONDS", "4")).FinalizeTimeout);
    }
}
