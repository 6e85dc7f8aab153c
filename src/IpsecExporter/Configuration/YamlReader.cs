using System.Globalization;
using System.Net;
using YamlDotNet.RepresentationModel;

namespace IpsecExporter.Configuration;

/// <summary>
/// Collects errors while walking a YAML document, so that one pass reports every problem with its line and column.
/// </summary>
internal sealed class ConfigErrors(string file)
{
    private readonly List<ConfigError> _errors = [];

    public string File { get; } = file;

    public IReadOnlyList<ConfigError> All => _errors;

    public void Add(YamlNode node, string message) => Add(node.Start.Line, node.Start.Column, message);

    public void Add(long line, long column, string message) => _errors.Add(new ConfigError(File, line, column, message));
}

/// <summary>
/// A YAML mapping whose keys are checked against the keys it may have. Typed getters report wrong types at the value's
/// position and return null, so the caller keeps going and finds the next error too.
/// </summary>
internal sealed class YamlMap
{
    private readonly Dictionary<string, (YamlNode Key, YamlNode Value)> _entries = new(StringComparer.Ordinal);
    private readonly ConfigErrors _errors;

    private YamlMap(YamlMappingNode node, string path, ConfigErrors errors)
    {
        Node = node;
        Path = path;
        _errors = errors;
        foreach (var (key, value) in node.Children)
        {
            if (key is YamlScalarNode { Value: { } name })
            {
                _entries[name] = (key, value);
            }
            else
            {
                errors.Add(key, $"{path}: keys must be plain strings");
            }
        }
    }

    public YamlMappingNode Node { get; }

    public string Path { get; }

    /// <summary>Wraps <paramref name="node"/> as a mapping; reports keys outside <paramref name="allowedKeys"/>.</summary>
    public static YamlMap? From(YamlNode? node, string path, ConfigErrors errors, IReadOnlyCollection<string> allowedKeys, IReadOnlyDictionary<string, string>? forbiddenKeys = null)
    {
        if (node is null || IsNull(node))
        {
            return null;
        }

        if (node is not YamlMappingNode mapping)
        {
            errors.Add(node, $"{path}: expected a mapping (key: value pairs), got {Describe(node)}");
            return null;
        }

        var map = new YamlMap(mapping, path, errors);
        foreach (var (name, (key, _)) in map._entries)
        {
            if (forbiddenKeys is not null && forbiddenKeys.TryGetValue(name, out var why))
            {
                errors.Add(key, $"{Join(path, name)}: {why}");
            }
            else if (!allowedKeys.Contains(name))
            {
                errors.Add(key, $"{path}: unknown key '{name}' (expected one of: {string.Join(", ", allowedKeys)})");
            }
        }

        return map;
    }

    public bool Has(string key) => _entries.TryGetValue(key, out var entry) && !IsNull(entry.Value);

    public YamlNode? ValueNode(string key) => _entries.TryGetValue(key, out var entry) && !IsNull(entry.Value) ? entry.Value : null;

    public string Child(string key) => Join(Path, key);

    public string? String(string key, bool required = false)
    {
        var node = ValueNode(key);
        if (node is null)
        {
            if (required)
            {
                _errors.Add(Node, $"{Path}: missing required key '{key}'");
            }

            return null;
        }

        if (node is not YamlScalarNode scalar)
        {
            _errors.Add(node, $"{Child(key)}: expected a string, got {Describe(node)}");
            return null;
        }

        if (string.IsNullOrWhiteSpace(scalar.Value))
        {
            _errors.Add(node, $"{Child(key)}: must not be empty");
            return null;
        }

        return scalar.Value.Trim();
    }

    public bool? Bool(string key)
    {
        var text = String(key);
        if (text is null)
        {
            return null;
        }

        if (bool.TryParse(text, out var value))
        {
            return value;
        }

        _errors.Add(ValueNode(key)!, $"{Child(key)}: expected true or false, got '{text}'");
        return null;
    }

    public int? Integer(string key, int min, int max)
    {
        var text = String(key);
        if (text is null)
        {
            return null;
        }

        if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }

        _errors.Add(ValueNode(key)!, $"{Child(key)}: expected a whole number from {min} to {max}, got '{text}'");
        return null;
    }

    public TimeSpan? Duration(string key, TimeSpan? min = null)
    {
        var text = String(key);
        if (text is null)
        {
            return null;
        }

        if (!DurationParser.TryParse(text, out var value))
        {
            _errors.Add(ValueNode(key)!, $"{Child(key)}: invalid duration '{text}' (use e.g. 500ms, 30s, 5m, 8h, 5h20m)");
            return null;
        }

        if (min is { } least && value < least)
        {
            _errors.Add(ValueNode(key)!, $"{Child(key)}: duration '{text}' must be at least {DurationParser.Format(least)}");
            return null;
        }

        return value;
    }

    public IPAddress? Ip(string key, bool required = false)
    {
        var text = String(key, required);
        return text is null ? null : ParseIp(ValueNode(key)!, Child(key), text, _errors);
    }

    public Uri? HttpUrl(string key, bool required = false)
    {
        var text = String(key, required);
        if (text is null)
        {
            return null;
        }

        if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            if (uri.UserInfo.Length == 0)
            {
                return uri;
            }

            // user:password@ is an inline secret, and URLs end up in logs and reports: never echo it.
            _errors.Add(ValueNode(key)!, $"{Child(key)}: credentials in the URL are not allowed (inline secret); use a *_file or *_env setting");
            return null;
        }

        _errors.Add(ValueNode(key)!, $"{Child(key)}: invalid URL '{text}' (expected http:// or https://)");
        return null;
    }

    /// <summary>The items of a sequence value; reports a non-sequence value.</summary>
    public IReadOnlyList<YamlNode> Sequence(string key, bool required = false)
    {
        var node = ValueNode(key);
        if (node is null)
        {
            if (required)
            {
                _errors.Add(Node, $"{Path}: missing required key '{key}'");
            }

            return [];
        }

        if (node is not YamlSequenceNode sequence)
        {
            _errors.Add(node, $"{Child(key)}: expected a list, got {Describe(node)}");
            return [];
        }

        return sequence.Children.ToList();
    }

    /// <summary>A list of non-empty strings.</summary>
    public IReadOnlyList<(YamlNode Node, string Value)> StringList(string key)
    {
        var result = new List<(YamlNode, string)>();
        var items = Sequence(key);
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i] is YamlScalarNode { Value: { } value } && !string.IsNullOrWhiteSpace(value))
            {
                result.Add((items[i], value.Trim()));
            }
            else
            {
                _errors.Add(items[i], $"{Child(key)}[{i}]: expected a non-empty string, got {Describe(items[i])}");
            }
        }

        return result;
    }

    public static IPAddress? ParseIp(YamlNode node, string path, string text, ConfigErrors errors)
    {
        // IPAddress.TryParse accepts "1" or "1.2" as IPv4 shorthand; a config wants the dotted quad.
        if (IPAddress.TryParse(text, out var address) && (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork || text.Count(c => c == '.') == 3))
        {
            return address;
        }

        errors.Add(node, $"{path}: invalid IP address '{text}'");
        return null;
    }

    public static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode scalar && scalar.Style == YamlDotNet.Core.ScalarStyle.Plain
        && (scalar.Value is null || scalar.Value.Length == 0 || scalar.Value == "~" || scalar.Value == "null");

    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode scalar => string.Create(CultureInfo.InvariantCulture, $"'{scalar.Value}'"),
        _ => "an unsupported value",
    };
}
