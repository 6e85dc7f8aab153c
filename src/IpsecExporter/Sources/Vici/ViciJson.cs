using System.Text.Json;

namespace IpsecExporter.Sources.Vici;

/// <summary>
/// Reads the JSON that firewalls built on strongSwan (OPNsense, pfSense) make of charon's <c>list-sas</c> answer back
/// into a <see cref="ViciSection"/>, so <see cref="ViciSaMapper"/>'s states, SA keys and counter rules apply to them
/// unchanged. Their renderings differ from the wire format in ways this undoes: numbers may be JSON numbers or strings,
/// flags JSON booleans, lists joined into one comma-separated string, and absent values written as empty strings.
/// </summary>
public static class ViciJson
{
    /// <summary>The <c>list-sas</c> keys that are lists; a firewall that joined one into a string is split again.</summary>
    private static readonly HashSet<string> ListKeys = new(StringComparer.Ordinal) { "local-ts", "remote-ts" };

    /// <summary>
    /// The section of <paramref name="element"/> (a JSON object), keys renamed by <paramref name="keyName"/> (pfSense
    /// writes <c>bytes_in</c> for charon's <c>bytes-in</c>). An array of objects becomes a section of sub-sections named
    /// by their <c>name</c> (as charon names CHILD SAs), or by their position. A <c>0</c> under one of
    /// <paramref name="zeroMeansAbsent"/> is dropped, for renderings that write 0 where charon sent nothing.
    /// </summary>
    /// <exception cref="InvalidDataException"><paramref name="element"/> is not an object.</exception>
    public static ViciSection ToSection(JsonElement element, Func<string, string> keyName, IReadOnlySet<string>? zeroMeansAbsent = null)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"expected an object of SA properties, got {element.ValueKind}");
        }

        var section = new ViciSection();
        foreach (var property in element.EnumerateObject())
        {
            var key = keyName(property.Name);
            var value = property.Value;
            switch (value.ValueKind)
            {
                case JsonValueKind.Object:
                    section.AddSection(key, ToSection(value, keyName, zeroMeansAbsent));
                    break;
                case JsonValueKind.Array when value.EnumerateArray().Any(item => item.ValueKind == JsonValueKind.Object):
                    var items = new ViciSection();
                    var position = 0;
                    foreach (var item in value.EnumerateArray())
                    {
                        var name = item.ValueKind == JsonValueKind.Object && item.TryGetProperty("name", out var named) ? Scalar(named) : null;
                        items.AddSection(name ?? position.ToString(System.Globalization.CultureInfo.InvariantCulture), ToSection(item, keyName, zeroMeansAbsent));
                        position++;
                    }

                    section.AddSection(key, items);
                    break;
                case JsonValueKind.Array:
                    section.AddList(key, value.EnumerateArray().Select(Scalar).OfType<string>().ToList());
                    break;
                default:
                    if (Scalar(value) is not { } text || (text == "0" && zeroMeansAbsent?.Contains(key) == true))
                    {
                        break;
                    }

                    if (ListKeys.Contains(key))
                    {
                        section.AddList(key, text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
                    }
                    else
                    {
                        section.Add(key, text);
                    }

                    break;
            }
        }

        return section;
    }

    /// <summary>A value as charon would have sent it; null for null and for the empty string that stands for "absent".</summary>
    private static string? Scalar(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString() is { Length: > 0 } text ? text : null,
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.True => "yes",
        JsonValueKind.False => "no",
        _ => null,
    };
}
