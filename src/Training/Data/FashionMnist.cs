namespace AllReduceNet.Training.Data;

/// <summary>Loads Fashion-MNIST (60,000 training and 10,000 test images of 28 x 28 pixels, 10 classes) from IDX files.</summary>
internal static class FashionMnist
{
    /// <summary>Where the Debian package dataset-fashion-mnist installs the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    public const string HowToGet =
        "Install the data with 'sudo apt-get install dataset-fashion-mnist' (files in " + DefaultDirectory +
        "), or pass --data DIR with train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz.";

    /// <summary>Loads the four files from <paramref name="directory"/>.</summary>
    /// <exception cref="TrainingException">The directory or a file is missing or damaged.</exception>
    public static TrainTestData Load(string directory)
    {
        if (!Directory.Exists(directory))
            throw new TrainingException($"data directory '{directory}' does not exist. {HowToGet}");
        var train = LoadPair(directory, "train");
        var test = LoadPair(directory, "t10k");
        return new TrainTestData(train, test, $"Fashion-MNIST from {directory}");
    }

    private static Dataset LoadPair(string directory, string prefix)
    {
        string imagesPath = Path.Combine(directory, $"{prefix}-images-idx3-ubyte.gz");
        string labelsPath = Path.Combine(directory, $"{prefix}-labels-idx1-ubyte.gz");
        var (pixels, count, perImage) = IdxReader.ReadImages(imagesPath);
        int[] labels = IdxReader.ReadLabels(labelsPath);
        if (labels.Length != count)
            throw new TrainingException($"data files '{imagesPath}' ({count} images) and '{labelsPath}' ({labels.Length} labels) do not match. {HowToGet}");
        foreach (int label in labels)
            if (label is < 0 or > 9)
                throw new TrainingException($"data file '{labelsPath}' is damaged: label {label} is outside 0..9. {HowToGet}");
        return new Dataset(pixels, labels, perImage, 10);
    }
}
