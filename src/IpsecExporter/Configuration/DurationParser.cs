using System.Globalization;
using System.Text.RegularExpressions;

namespace IpsecExporter.Configuration;

/// <summary>Parses Prometheus/Go style durations: <c>500ms</c>, <c>30s</c>, <c>5h20m</c>, <c>1d</c>.</summary>
public static partial class DurationParser
{
    [GeneratedRegex(@"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$", RegexOptions.CultureInvariant)]
    private static partial Regex DurationPattern();

    public static bool TryParse(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var match = DurationPattern().Match(text);
        if (!match.Success)
        {
            return false;
        }

        long Part(int group) => match.Groups[group].Success ? long.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture) : 0;
        try
        {
            value = TimeSpan.FromDays(Part(1)) + TimeSpan.FromHours(Part(2)) + TimeSpan.FromMinutes(Part(3))
                + TimeSpan.FromSeconds(Part(4)) + TimeSpan.FromMilliseconds(Part(5));
        }
        catch (Exception e) when (e is OverflowException or ArgumentOutOfRangeException)
        {
            // The sum overflows with OverflowException, the long overloads (FromSeconds(long), FromMilliseconds(long))
            // with ArgumentOutOfRangeException: both are a duration too long, not a crash.
            return false;
        }

        return true;
    }

    /// <summary>Formats a duration the way it would be written in the config (<c>5h20m</c>).</summary>
    public static string Format(TimeSpan value)
    {
        if (value == TimeSpan.Zero)
        {
            return "0s";
        }

        var parts = new List<string>();
        if (value.Days > 0)
        {
            parts.Add($"{value.Days}d");
        }

        if (value.Hours > 0)
        {
            parts.Add($"{value.Hours}h");
        }

        if (value.Minutes > 0)
        {
            parts.Add($"{value.Minutes}m");
        }

        if (value.Seconds > 0)
        {
            parts.Add($"{value.Seconds}s");
        }

        if (value.Milliseconds > 0)
        {
            parts.Add($"{value.Milliseconds}ms");
        }

        return string.Concat(parts);
    }
}
