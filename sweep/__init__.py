"""rnn-sweep: KerasTuner sweeps over recurrent text classifiers, with pandas reports and plots."""

__version__ = "0.2.0"
