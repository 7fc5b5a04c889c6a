# frozen_string_literal: true

module Debpull
  # @api private
  # Argument checks shared by {Updater.new} and {Debpull.user_data}: they
  # raise TypeError for a wrong type, ArgumentError for an unknown name or a
  # value out of range, and return what the native layer takes.
  module Checks
    module_function

    # `["dpkg" | "apt", nil]` or `["command", argv]`.
    def installer_of(installer)
      case installer
      when Array then ["command", argv(installer, "installer")]
      when Symbol
        return [installer.to_s, nil] if Updater::INSTALLERS.include?(installer)

        raise ArgumentError, "installer #{installer.inspect} is not known: :dpkg, :apt " \
                             "or a command (an Array of Strings)"
      else
        raise TypeError, "installer must be :dpkg, :apt or an Array of Strings, not #{installer.class}"
      end
    end

    # `"upgrade"` or `"follow"`.
    def policy_of(policy)
      raise TypeError, "policy must be a Symbol (:upgrade or :follow), not #{policy.class}" unless policy.is_a?(Symbol)

      Updater::POLICIES.fetch(policy) do
        raise ArgumentError, "policy #{policy.inspect} is not known: :upgrade or :follow"
      end
    end

    # `command` (nil or an Array of Strings).
    def argv(command, name)
      return nil if command.nil?
      raise TypeError, "#{name} must be an Array of Strings, not #{command.class}" unless command.is_a?(Array)

      command.each_with_index do |arg, i|
        raise TypeError, "#{name}[#{i}] must be a String, not #{arg.class}" unless arg.is_a?(String)
      end
      command
    end

    # `value` (a real, non-negative Numeric) as a Float.
    def seconds(value, name)
      # A Complex is Numeric but not a real number (it has no negative?).
      unless value.is_a?(Numeric) && value.real?
        raise TypeError, "#{name} must be seconds (a real Numeric), not #{value.class}"
      end
      raise ArgumentError, "#{name} must not be negative (#{value})" if value.negative?

      value.to_f
    end

    # `value`, an Integer in `range`.
    def integer_in(value, name, range)
      raise TypeError, "#{name} must be an Integer, not #{value.class}" unless value.is_a?(Integer)
      raise ArgumentError, "#{name} #{value} is out of range: #{range.min} to #{range.max}" unless range.cover?(value)

      value
    end
  end
  private_constant :Checks
end
