// tests written by the exercise
