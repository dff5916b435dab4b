// Stellar (Node.js): modules/greetings/tasks/sayHello.js
exports.sayHello = {
  name: 'sayHello',
  description: 'I say hello',
  queue: 'default',
  frequency: 1000, // milliseconds

  run (api, params, next) {
    api.log('Hello!!!')
    next()
  }
}
