using AllReduceNet.Training.Checkpoints;

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
    /// <param name="directory">Where the IDX files are.</param>
    /// <param name="normalize">standardize (one training-set mean and deviation), scale (to [0, 1]) or per-sample (each image by its own mean and deviation).</param>
    public static TrainTestData Load(string directory, string normalize = "standardize")
    {
        bool standardize = normalize == "standardize";
        if (!Directory.Exists(directory))
            throw new TrainingException($"data directory '{directory}' does not exist. {HowToGet}");
        var train = LoadPair(directory, "train");
        var test = LoadPair(directory, "t10k");
        if (normalize == "per-sample")
        {
            // IdxReader scales bytes to [0, 1]; a per-image standardization does not care, the served transform (on raw
            // bytes) gives the same features.
            var perImage = Preprocessing.PerSampleOfBytes with { Scale = 1 };
            perImage.Apply(train.Inputs, train.Features);
            perImage.Apply(test.Inputs, test.Features);
            return new TrainTestData(train, test, $"Fashion-MNIST from {directory} ({train.Count} train, {test.Count} test; each image standardized by its own mean and deviation)",
                Preprocessing.PerSampleOfBytes);
        }
        if (!standardize)
            return new TrainTestData(train, test, $"Fashion-MNIST from {directory} ({train.Count} train, {test.Count} test; pixels scaled to [0, 1])",
                new Preprocessing(1 / 255.0, 0, 1));
        // Standardize with the training set's pixel mean and deviation (one scalar each), as is usual for MNIST-like
        // data: centred inputs make SGD converge faster and more steadily.
        double sum = 0, squares = 0;
        foreach (float x in train.Inputs) { sum += x; squares += (double)x * x; }
        double count = Math.Max(train.Inputs.Length, 1);
        float mean = (float)(sum / count), deviation = (float)Math.Sqrt(Math.Max(squares / count - (sum / count) * (sum / count), 1e-12));
        Standardize(train.Inputs, mean, deviation);
        Standardize(test.Inputs, mean, deviation);
        return new TrainTestData(train, test, $"Fashion-MNIST from {directory} ({train.Count} train, {test.Count} test; pixels standardized, mean {mean:F4}, deviation {deviation:F4})",
            // IdxReader scales bytes to [0, 1]; the exported transform starts from the raw bytes a client has.
            new Preprocessing(1 / 255.0, mean, deviation));
    }

    private static void Standardize(float[] values, float mean, float deviation)
    {
        for (int i = 0; i < values.Length; i++) values[i] = (values[i] - mean) / deviation;
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
