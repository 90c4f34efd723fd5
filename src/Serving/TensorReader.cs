using System.Text.Json;

namespace AllReduceNet.Serving;

/// <summary>Turns JSON numbers, flat or nested in arrays, into finite floats, with 400s that say where input went wrong.</summary>
internal static class TensorReader
{
    /// <summary>Reads exactly <paramref name="count"/> finite numbers from <paramref name="data"/> (nested arrays are flattened, row-major).</summary>
    /// <param name="data">A JSON array.</param>
    /// <param name="count">How many numbers it must hold.</param>
    /// <param name="what">Names the data in error messages, e.g. "input 'input'".</param>
    /// <exception cref="ApiException">400: not an array, a non-number, a value that is not a finite float, or the wrong count.</exception>
    public static float[] ReadFloats(JsonElement data, long count, string what)
    {
        if (data.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest($"{what}: data must be an array of numbers, not {Describe(data)}.");
        var values = new float[count];
        long filled = 0;
        Flatten(data, values, ref filled, what, depth: 0);
        if (filled != count) throw ApiException.BadRequest($"{what}: data holds {filled} numbers, but the shape needs {count}.");
        return values;
    }

    private static void Flatten(JsonElement array, float[] values, ref long filled, string what, int depth)
    {
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Array)
            {
                if (depth >= 8) throw ApiException.BadRequest($"{what}: data is nested too deeply.");
                Flatten(item, values, ref filled, what, depth + 1);
                continue;
            }
            if (item.ValueKind != JsonValueKind.Number)
                throw ApiException.BadRequest($"{what}: element {filled} is {Describe(item)}, but must be a number (NaN and Infinity are not accepted).");
            if (!item.TryGetDouble(out double value) || !float.IsFinite((float)value))
                throw ApiException.BadRequest($"{what}: element {filled} ({item.GetRawText()}) is not a finite 32-bit float.");
            // Counting past the end stops the walk early on oversized data instead of reading it all.
            if (filled >= values.Length) { filled++; throw ApiException.BadRequest($"{what}: data holds more numbers than the shape's {values.Length}."); }
            values[filled++] = (float)value;
        }
    }

    /// <summary>A short description of a JSON value for error messages.</summary>
    public static string Describe(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => $"the string {Truncate(element.GetRawText())}",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => element.ValueKind.ToString().ToLowerInvariant(),
    };

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
